# Runs on the target: verifies every host directory of one tool holds the workload's end
# state, so a run that failed cannot look fast. Usage: check.py ROOT HOST...
import os
import sys

root, hosts = sys.argv[1], sys.argv[2:]
bad = []
for h in hosts:
    d = os.path.join(root, h)
    want = {f"copy{i}": f"copy {i} content" for i in range(1, 6)}
    want.update({f"tmpl{i}": f"host {h} n=42" for i in range(1, 6)})
    want["lines"] = "\n".join(f"extra {i}" for i in range(1, 6))
    for name, text in want.items():
        try:
            with open(os.path.join(d, name)) as f:
                got = f.read().rstrip("\n")
        except OSError as e:
            bad.append(f"{h}/{name}: {e}")
            continue
        if got != text:
            bad.append(f"{h}/{name}: {got!r} != {text!r}")
print("OK" if not bad else "BAD\n" + "\n".join(bad[:20]))
