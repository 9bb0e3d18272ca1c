//! Console tables in the layout Baton's Go CLI prints (pterm's default table, colours off).
//!
//! Every cell is left-aligned and padded with spaces to its column's display width (the last
//! column too, so lines may end in spaces), cells are joined by ` | `, the header is the
//! first line, and a blank line follows the table. Widths are display widths, so CJK and
//! emoji names line up as in Go (which uses runewidth). Control characters (e.g. newlines
//! in a display name) become spaces so a row stays one line.

use std::borrow::Cow;
use std::io::{self, Write};
use unicode_width::UnicodeWidthStr;

/// Column widths of a table, measured before printing.
pub struct Table {
    headers: &'static [&'static str],
    widths: Vec<usize>,
}

impl Table {
    /// A table with these column headers; widths start at the header widths.
    pub fn new(headers: &'static [&'static str]) -> Table {
        Table {
            headers,
            widths: headers.iter().map(|h| h.width()).collect(),
        }
    }

    /// Widens the columns to fit a row.
    pub fn measure(&mut self, cells: &[String]) {
        for (w, c) in self.widths.iter_mut().zip(cells) {
            *w = (*w).max(clean(c).width());
        }
    }

    /// Prints the header line.
    pub fn write_header(&self, out: &mut impl Write) -> io::Result<()> {
        let cells: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
        self.write_row(out, &cells)
    }

    /// Prints one row.
    pub fn write_row(&self, out: &mut impl Write, cells: &[String]) -> io::Result<()> {
        for (i, w) in self.widths.iter().enumerate() {
            if i > 0 {
                out.write_all(b" | ")?;
            }
            let cell = clean(cells.get(i).map_or("", String::as_str));
            out.write_all(cell.as_bytes())?;
            let pad = w.saturating_sub(cell.width());
            write!(out, "{:pad$}", "")?;
        }
        out.write_all(b"\n")
    }

    /// Prints the blank line that ends a table.
    pub fn write_end(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(b"\n")
    }
}

/// Prints a whole table of already collected rows: header, rows, blank line.
pub fn write_table(
    out: &mut impl Write,
    headers: &'static [&'static str],
    rows: &[Vec<String>],
) -> io::Result<()> {
    let mut table = Table::new(headers);
    rows.iter().for_each(|r| table.measure(r));
    table.write_header(out)?;
    for r in rows {
        table.write_row(out, r)?;
    }
    table.write_end(out)
}

fn clean(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_control) {
        Cow::Owned(
            s.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_every_column_including_the_last() {
        let mut t = Table::new(&["ID", "Display Name", "Traits"]);
        let rows = [
            vec!["project".to_string(), "Project".into(), String::new()],
            vec!["user".into(), "User".into(), "TRAIT_USER".into()],
        ];
        rows.iter().for_each(|r| t.measure(r));
        let mut out = Vec::new();
        t.write_header(&mut out).unwrap();
        rows.iter().for_each(|r| t.write_row(&mut out, r).unwrap());
        t.write_end(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ID      | Display Name | Traits    \n\
             project | Project      |           \n\
             user    | User         | TRAIT_USER\n\n"
        );
    }

    #[test]
    fn wide_and_control_characters() {
        let mut t = Table::new(&["A", "B"]);
        let row = vec!["日本".to_string(), "a\nb".into()];
        t.measure(&row);
        let mut out = Vec::new();
        t.write_row(&mut out, &row).unwrap();
        t.write_row(&mut out, &["x".into(), "y".into()]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "日本 | a b\nx    | y  \n");
    }
}
