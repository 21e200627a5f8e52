//! What Ansible accepts as a variable name (register, set_fact keys): an ASCII identifier
//! that is not one of Jinja's reserved names (ansible.utils.vars.validate_variable_name).

/// Names Jinja gives a meaning of their own, which a variable cannot take.
const JINJA_KEYWORDS: &[&str] = &["true", "false", "none", "True", "False", "None", "not"];

pub fn valid_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !JINJA_KEYWORDS.contains(&name)
}

/// The message Ansible gives for a name it refuses.
pub fn invalid_variable_name(name: &serde_json::Value) -> String {
    use serde_json::Value;
    let (shown, of_type) = match name {
        Value::String(s) => (s.clone(), ""),
        Value::Number(n) if n.is_f64() => (n.to_string(), " of type 'float'"),
        Value::Number(n) => (n.to_string(), " of type 'int'"),
        Value::Bool(b) => (
            if *b { "True" } else { "False" }.to_string(),
            " of type 'bool'",
        ),
        Value::Null => ("None".to_string(), " of type 'NoneType'"),
        other => (other.to_string(), " of type 'dict'"),
    };
    format!("Invalid variable name '{shown}'{of_type}.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifiers_but_not_jinja_names() {
        for ok in ["x", "_x", "a1_b", "True_"] {
            assert!(valid_variable_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a b", "true", "None", "not", "é"] {
            assert!(!valid_variable_name(bad), "{bad}");
        }
    }

    #[test]
    fn messages_name_the_type_of_a_non_string() {
        assert_eq!(
            invalid_variable_name(&json!(200)),
            "Invalid variable name '200' of type 'int'."
        );
        assert_eq!(
            invalid_variable_name(&json!("true")),
            "Invalid variable name 'true'."
        );
    }
}
