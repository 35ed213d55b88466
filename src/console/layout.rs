//! The frame around every console page: head, top bar with the org switcher, section
//! navigation, and the sign-out form.

use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::orgs::OrgChoice;

/// The form field that carries the anti-forgery token.
pub const CSRF_FIELD: &str = "_csrf";

/// Unread notifications counted for the badge; more shows as "99+".
pub const UNREAD_SHOWN: usize = 100;

/// The hidden anti-forgery input of a form.
pub fn csrf_input(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

/// What the frame around a signed-in page shows.
pub struct Frame<'a> {
    /// Who is signed in, as the top bar says it.
    pub who: &'a str,
    /// The orgs of the switcher.
    pub orgs: &'a [OrgChoice],
    /// The org the page is about.
    pub org: Option<&'a OrgChoice>,
    /// Unread notifications of that org.
    pub unread: usize,
    /// The anti-forgery token for the sign-out form.
    pub csrf: &'a str,
    /// Whether there is a session to sign out of (not in dev mode).
    pub signed_in: bool,
}

/// The top-level section a page belongs to (highlighted in the navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Servers,
    Upstreams,
    Accounts,
    Secrets,
    Notifications,
    Audit,
    Usage,
    Settings,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Gatehouse" }
            link rel="stylesheet" href=(assets::stylesheet());
            script src=(assets::script()) defer {}
        }
    }
}

/// A page without the signed-in frame (sign-in, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                header.top { a.brand href="/" { (brand_mark()) "Gatehouse" } }
                (body)
            }
        }
    }
}

fn brand_mark() -> Markup {
    html! { span.mark aria-hidden="true" { "◆" } " " }
}

/// A signed-in page.
pub fn page(frame: &Frame, title: &str, section: Section, body: Markup) -> Markup {
    let org = frame.org;
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { (brand_mark()) "Gatehouse" }
                    @if let Some(org) = org {
                        form.switcher method="get" action="/switch" {
                            label.visually-hidden for="org-switch" { "Organization" }
                            select #org-switch name="org" data-autosubmit {
                                @for o in frame.orgs {
                                    option value=(o.slug) selected[o.id == org.id] { (o.name) }
                                }
                            }
                            noscript { button.secondary type="submit" { "Switch" } }
                        }
                        nav.sections aria-label="Sections" {
                            a href={ "/orgs/" (org.slug) "/servers" }
                                aria-current=[(section == Section::Servers).then_some("page")] { "Servers" }
                            a href={ "/orgs/" (org.slug) "/upstreams" }
                                aria-current=[(section == Section::Upstreams).then_some("page")] { "Upstreams" }
                            a href={ "/orgs/" (org.slug) "/accounts" }
                                aria-current=[(section == Section::Accounts).then_some("page")] { "Accounts" }
                            @if org.can("usage:read") {
                                a href={ "/orgs/" (org.slug) "/usage" }
                                    aria-current=[(section == Section::Usage).then_some("page")] { "Usage" }
                            }
                            @if org.can("secrets:read") {
                                a href={ "/orgs/" (org.slug) "/secrets" }
                                    aria-current=[(section == Section::Secrets).then_some("page")] { "Secrets" }
                            }
                            @if org.can("notifications:read") {
                                a href={ "/orgs/" (org.slug) "/notifications" }
                                    aria-current=[(section == Section::Notifications).then_some("page")] {
                                    "Notifications"
                                    @if frame.unread > 0 {
                                        " " span.count aria-label={ (frame.unread) " unread" } {
                                            @if frame.unread >= UNREAD_SHOWN { "99+" } @else { (frame.unread) }
                                        }
                                    }
                                }
                            }
                            @if org.can("audit:read") {
                                a href={ "/orgs/" (org.slug) "/audit" }
                                    aria-current=[(section == Section::Audit).then_some("page")] { "Audit log" }
                            }
                            a href={ "/orgs/" (org.slug) "/settings/tokens" }
                                aria-current=[(section == Section::Settings).then_some("page")] { "Settings" }
                        }
                    }
                    div.who {
                        span { (frame.who) }
                        @if let Some(org) = org {
                            @match org.role.as_deref() {
                                Some("member") => span.badge title="Members see everything and change nothing" { "member · read-only" },
                                Some(role) => span.badge { (role) },
                                None => {},
                            }
                        }
                        @if frame.signed_in {
                            form method="post" action="/sign-out" {
                                (csrf_input(frame.csrf))
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

/// The tabs of a server's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTab {
    Overview,
    Tools,
    Keys,
    Upstreams,
    Plugins,
    Auth,
    Integrations,
    Policies,
    Usage,
    Logs,
}

/// A server's heading and tab bar.
pub fn server_header(org_slug: &str, server_id: &str, name: &str, active: ServerTab) -> Markup {
    let base = format!("/orgs/{org_slug}/servers/{server_id}");
    let tab = |tab: ServerTab, path: &str, label: &str| {
        html! {
            a href={ (base) (path) } aria-current=[(tab == active).then_some("page")] { (label) }
        }
    };
    html! {
        p.crumbs { a href={ "/orgs/" (org_slug) "/servers" } { "Servers" } " / " }
        h1 { (name) }
        nav.tabs aria-label="Server" {
            (tab(ServerTab::Overview, "", "Overview"))
            (tab(ServerTab::Tools, "/tools", "Tools"))
            (tab(ServerTab::Keys, "/keys", "API Keys"))
            (tab(ServerTab::Upstreams, "/upstreams", "Upstreams"))
            (tab(ServerTab::Plugins, "/plugins", "Plugins"))
            (tab(ServerTab::Auth, "/auth", "Auth"))
            (tab(ServerTab::Integrations, "/integrations", "Integrations"))
            (tab(ServerTab::Policies, "/policies", "Policies"))
            (tab(ServerTab::Usage, "/usage", "Usage"))
            (tab(ServerTab::Logs, "/logs", "Logs"))
        }
    }
}
