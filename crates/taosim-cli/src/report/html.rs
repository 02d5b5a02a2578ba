//! The report page: one self-contained HTML file (inline CSS, no scripts, no external fonts) that
//! shows each figure's PNG and links its SVG.

use std::fmt::Write as _;

use super::plots::{HEIGHT, WIDTH};

/// One block of a section.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Block {
    /// A figure: files `stem.png` and `stem.svg`, and its caption (plain text).
    Figure {
        /// File stem.
        stem: String,
        /// Caption.
        caption: String,
    },
    /// A paragraph of plain text (a note on what was skipped and why).
    Note(String),
    /// A table: header cells and rows of plain-text cells.
    Table {
        /// Header cells.
        header: Vec<String>,
        /// Rows.
        rows: Vec<Vec<String>>,
    },
}

/// A titled part of the page.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Section {
    /// Heading.
    pub(crate) title: String,
    /// Its blocks, in order.
    pub(crate) blocks: Vec<Block>,
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1000px;\
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}h1{font-size:1.6em}h2{margin-top:1.8em;\
border-bottom:1px solid #ddd;padding-bottom:.2em}figure{margin:1em 0}img{max-width:100%;height:auto;\
border:1px solid #eee}figcaption{font-size:.92em;color:#444}table{border-collapse:collapse;\
font-size:.92em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f4f4f4}\
td:nth-child(2){text-align:left}.note{background:#fff8e1;border-left:4px solid #f0c040;padding:.5em .8em}\
dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}dt{font-weight:600}dd{margin:0}";

/// The whole page: `title`, a list of facts about the run, then the sections.
pub(crate) fn page(title: &str, facts: &[(String, String)], sections: &[Section]) -> String {
    let mut html = String::new();
    let t = escape(title);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n<dl>\n"
    );
    for (name, value) in facts {
        let _ = writeln!(html, "<dt>{}</dt><dd>{}</dd>", escape(name), escape(value));
    }
    html.push_str("</dl>\n");
    for section in sections {
        let _ = writeln!(html, "<h2>{}</h2>", escape(&section.title));
        for block in &section.blocks {
            match block {
                Block::Figure { stem, caption } => {
                    let s = escape(stem);
                    let _ = writeln!(
                        html,
                        "<figure><img src=\"{s}.png\" width=\"{WIDTH}\" height=\"{HEIGHT}\" alt=\"{c}\">\
                         <figcaption>{c} <a href=\"{s}.svg\">SVG</a></figcaption></figure>",
                        c = escape(caption)
                    );
                }
                Block::Note(text) => {
                    let _ = writeln!(html, "<p class=\"note\">{}</p>", escape(text));
                }
                Block::Table { header, rows } => {
                    html.push_str("<table>\n<tr>");
                    for cell in header {
                        let _ = write!(html, "<th>{}</th>", escape(cell));
                    }
                    html.push_str("</tr>\n");
                    for row in rows {
                        html.push_str("<tr>");
                        for cell in row {
                            let _ = write!(html, "<td>{}</td>", escape(cell));
                        }
                        html.push_str("</tr>\n");
                    }
                    html.push_str("</table>\n");
                }
            }
        }
    }
    html.push_str("</body>\n</html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_figures_link_both_files() {
        let sections = vec![Section {
            title: "A & B".into(),
            blocks: vec![
                Block::Figure { stem: "fan-netuid-1".into(), caption: "<x>".into() },
                Block::Note("n\"q".into()),
            ],
        }];
        let html = page("t", &[("k".into(), "v'".into())], &sections);
        assert!(html.contains("<h2>A &amp; B</h2>"));
        assert!(html.contains("src=\"fan-netuid-1.png\""));
        assert!(html.contains("href=\"fan-netuid-1.svg\""));
        assert!(html.contains("alt=\"&lt;x&gt;\""));
        assert!(html.contains("n&quot;q") && html.contains("v&#39;"));
        assert!(!html.contains("<script") && !html.contains("http"));
    }
}
