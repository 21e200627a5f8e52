//! `--slice K/N`: AWX's job slicing. The inventory's hosts, in inventory order, are dealt
//! round-robin into N slices and a run works on slice K only, so N controllers can share a
//! large inventory. A host outside the inventory (the implicit localhost) is in every slice,
//! as each AWX slice runs the whole playbook against its part of the inventory.

use super::Inventory;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// 1-based, as the user writes it.
    pub k: usize,
    pub n: usize,
}

impl std::str::FromStr for Slice {
    type Err = String;

    fn from_str(s: &str) -> Result<Slice, String> {
        let bad = || {
            format!("'{s}' is not a slice: write K/N with 1 <= K <= N, e.g. --slice 2/4 for the second of four")
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Slice { k, n })
    }
}

impl Slice {
    /// Whether `host` is in this slice: its position in the inventory, counted from 0,
    /// is K-1 modulo N.
    pub fn contains(&self, inv: &Inventory, host: &str) -> bool {
        inv.hosts
            .get_index_of(host)
            .is_none_or(|i| i % self.n == self.k - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_deal_hosts_round_robin_and_cover_each_once() {
        let mut inv = Inventory::new();
        for h in ["a", "b", "c", "d", "e"] {
            inv.add_host(h, "web");
        }
        let hosts = |s: &str| -> Vec<&str> {
            let s: Slice = s.parse().unwrap();
            ["a", "b", "c", "d", "e", "localhost"]
                .into_iter()
                .filter(|h| s.contains(&inv, h))
                .collect()
        };
        assert_eq!(hosts("1/2"), ["a", "c", "e", "localhost"]);
        assert_eq!(hosts("2/2"), ["b", "d", "localhost"]);
        assert_eq!(hosts("3/3"), ["c", "localhost"]);
        assert_eq!(hosts("1/1"), ["a", "b", "c", "d", "e", "localhost"]);
        for bad in ["0/2", "3/2", "1", "a/b", "1/0"] {
            assert!(bad.parse::<Slice>().is_err(), "{bad}");
        }
    }
}
