//! A line diff of two texts, for long text fields: the longest common
//! subsequence of their lines, as kept, removed and added lines.

/// One line of a line diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    Same(&'a str),
    Removed(&'a str),
    Added(&'a str),
}

/// Texts longer than this many lines on both sides are shown whole, side
/// by side, rather than diffed: the table below is quadratic.
const MAX_LINES: usize = 2_000;

/// The lines of `old` and `new`, each marked kept, removed or added, in
/// order; `None` when both are too long to diff.
pub(crate) fn line_diff<'a>(old: &'a str, new: &'a str) -> Option<Vec<Line<'a>>> {
    let (old, new): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    if old.len() > MAX_LINES && new.len() > MAX_LINES {
        return None;
    }
    // common[i][j]: the longest common subsequence of old[i..] and new[j..].
    let width = new.len() + 1;
    let mut common = vec![0_u32; (old.len() + 1) * width];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i * width + j] = if old[i] == new[j] {
                common[(i + 1) * width + j + 1] + 1
            } else {
                common[(i + 1) * width + j].max(common[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j, mut lines) = (0, 0, Vec::new());
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            lines.push(Line::Same(old[i]));
            (i, j) = (i + 1, j + 1);
        } else if j < new.len()
            && (i == old.len() || common[i * width + j + 1] >= common[(i + 1) * width + j])
        {
            lines.push(Line::Added(new[j]));
            j += 1;
        } else {
            lines.push(Line::Removed(old[i]));
            i += 1;
        }
    }
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_kept_removed_and_added_lines() {
        let diff = line_diff("a\nb\nc\nd", "a\nc\nd\ne").unwrap();
        assert_eq!(
            diff,
            [
                Line::Same("a"),
                Line::Removed("b"),
                Line::Same("c"),
                Line::Same("d"),
                Line::Added("e"),
            ]
        );
        assert_eq!(line_diff("", "x").unwrap(), [Line::Added("x")]);
        assert_eq!(line_diff("x", "").unwrap(), [Line::Removed("x")]);
    }
}
