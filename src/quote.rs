//! Text that came from outside (a server's reply, a znode's data) made safe to print: escaped as
//! the inside of a JSON string (RFC 8259), so that no control character reaches the terminal or
//! the log. A planted `ESC [2J` would otherwise clear an operator's screen, and a newline would
//! forge a second log line.
//!
//! One rule for every such print: the probes quote replies with it, `metrics --format json`
//! writes its strings with it, `members` prints the membership through it.

/// `text` escaped for the inside of a JSON string: quotes, backslashes and every control
/// character (C0, DEL and C1, which includes the 8-bit CSI that terminals also obey).
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
}

/// [`push_escaped`] into a new string.
pub(crate) fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_pass() {
        assert_eq!(escaped("a\"b\\c\n\r\t"), r#"a\"b\\c\n\r\t"#);
        assert_eq!(escaped("\u{1b}[2J\u{7f}\u{9b}"), r"\u001b[2J\u007f\u009b");
        assert_eq!(escaped("zk-0.zk-hs:2181 é"), "zk-0.zk-hs:2181 é");
    }
}
