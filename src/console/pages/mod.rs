//! The console's pages, one file per part of the product. Each handler reads what it shows and
//! changes what it changes through registry operations ([`Ctx::run`](super::context::Ctx)).

pub mod accounts;
pub mod attachments;
pub mod audit;
pub mod authorize;
pub mod connections;
pub mod end_user_accounts;
pub mod imported_tool;
pub mod imports;
pub mod integrations;
pub mod keys;
pub mod logs;
pub mod members;
pub mod notifications;
pub mod oauth_clients;
pub mod plugins;
pub mod policies;
pub mod reimport;
pub mod secrets;
pub mod server_auth;
pub mod servers;
pub mod settings;
pub mod sign_in;
pub mod tool_form;
pub mod tools;
pub mod upstream;
pub mod upstream_client;
pub mod upstreams;
pub mod usage;

use maud::{Markup, html};

/// Rows a list page shows at once.
pub const PAGE_SIZE: usize = 50;

/// A page of a long list: which rows to show and the links to the others.
pub struct Paged {
    pub page: usize,
    pub pages: usize,
    pub start: usize,
    pub end: usize,
}

impl Paged {
    /// Page `page` (1-based, clamped) of `total` rows.
    pub fn new(total: usize, page: Option<usize>) -> Self {
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = page.unwrap_or(1).clamp(1, pages);
        let start = (page - 1) * PAGE_SIZE;
        Self { page, pages, start, end: (start + PAGE_SIZE).min(total) }
    }

    /// Previous/next links, keeping the search `q`.
    pub fn links(&self, base: &str, q: &str) -> Markup {
        let href = |page: usize| {
            let mut url = format!("{base}?page={page}");
            if !q.is_empty() {
                url.push_str("&q=");
                url.push_str(&url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>());
            }
            url
        };
        html! {
            @if self.pages > 1 {
                nav.pager aria-label="Pages" {
                    @if self.page > 1 { a href=(href(self.page - 1)) rel="prev" { "← Previous" } }
                    span { "Page " (self.page) " of " (self.pages) }
                    @if self.page < self.pages { a href=(href(self.page + 1)) rel="next" { "Next →" } }
                }
            }
        }
    }
}

/// A time from the API (ISO 8601) as people read it: `2026-12-06 04:33 UTC`.
pub fn when(iso: &str) -> String {
    match (iso.get(..10), iso.get(11..16)) {
        (Some(day), Some(clock)) => format!("{day} {clock} UTC"),
        _ => iso.to_string(),
    }
}

/// A read-only value with a Copy button (the button needs the script; the value can always be
/// selected by hand).
pub fn copyable(id: &str, label: &str, value: &str) -> Markup {
    html! {
        div.copyable {
            label for=(id) { (label) }
            div.copy-row {
                input #(id) type="text" readonly value=(value) spellcheck="false";
                button.secondary type="button" data-copy={ "#" (id) } { "Copy" }
            }
        }
    }
}

/// Whether `hay` contains `needle`, ignoring case (for list search).
pub fn matches(hay: &str, needle: &str) -> bool {
    needle.is_empty() || hay.to_lowercase().contains(&needle.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_clamped() {
        let p = Paged::new(120, Some(9));
        assert_eq!((p.page, p.pages, p.start, p.end), (3, 3, 100, 120));
        let p = Paged::new(0, None);
        assert_eq!((p.page, p.pages, p.start, p.end), (1, 1, 0, 0));
    }
}
