//! A nesting-depth check over raw bytes, run before any recursive parser sees them.
//!
//! It is a single loop with no recursion, so no input can exhaust the stack here; it stops at
//! the first byte past the limit, so it costs at most one pass.

/// Checks that `bytes` never nests arrays/objects deeper than `max_depth`. Brackets inside
/// strings (including escaped quotes) do not count. Returns the offending depth on failure.
/// It does not validate JSON: that is the parser's job once the depth is known to be safe.
pub fn check_depth(bytes: &[u8], max_depth: usize) -> Result<(), usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return Err(depth);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_structure() {
        assert_eq!(check_depth(br#"{"a":[1,{"b":2}]}"#, 3), Ok(()));
        assert_eq!(check_depth(br#"{"a":[1,{"b":2}]}"#, 2), Err(3));
        assert_eq!(check_depth(br#"{"a":"[[[[[[{{{{"}"#, 1), Ok(()));
        assert_eq!(check_depth(br#"{"a":"\"[[[["}"#, 1), Ok(()));
        assert_eq!(check_depth(br#"["\\",[[]]]"#, 2), Err(3));
        assert_eq!(check_depth(b"", 0), Ok(()));
        assert_eq!(check_depth(b"]]]][", 1), Ok(()));
    }

    #[test]
    fn huge_nesting_is_cheap() {
        let deep = "[".repeat(1_000_000);
        assert_eq!(check_depth(deep.as_bytes(), 64), Err(65));
    }
}
