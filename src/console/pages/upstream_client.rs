//! The upstream page's "Authorization server" card: the client Gatehouse has at an OAuth
//! upstream's authorization server (replaceable by one registered there by hand, registry
//! operation `set_upstream_oauth_client`) and, for an upstream reached by token exchange, the
//! issuer that server must trust and where its keys are.

use maud::{Markup, html};
use serde_json::Value;

use crate::console::context::{Ctx, text};
use crate::console::form::{FormError, csrf_input, field_error};

/// Whether the upstream page shows the card: HTTP upstreams authorized with OAuth or reached
/// with each person's token.
pub fn shown(u: &Value) -> bool {
    u["url"].is_string() && (u["auth"]["type"] == "oauth" || u["credentialMode"] != "shared")
}

/// The card; `error` is the client form's.
pub fn card(ctx: &Ctx, base: &str, u: &Value, can_write: bool, error: Option<&FormError>) -> Markup {
    let client = &u["oauthClient"];
    let exchange = &u["tokenExchange"];
    html! {
        section.card #authorization-server aria-labelledby="authorization-server-title" {
            h2 #authorization-server-title { "Authorization server" }
            @if exchange.is_object() {
                p { "Each person's token is obtained for them: Gatehouse signs a one-minute assertion of who is calling "
                    "and trades it at the authorization server (OAuth token exchange). Configure that server to trust this "
                    "issuer for the people it names, and only then." }
                dl.facts {
                    dt { "Issuer" } dd { code { (text(&exchange["issuer"])) } }
                    dt { "Keys (JWKS)" } dd { code { (text(&exchange["jwksUri"])) } }
                    dt { "Person" } dd { code { (text(&exchange["subjectClaim"])) } ": their e-mail, in lower case" }
                }
            }
            @if client.is_object() {
                dl.facts {
                    dt { "Client ID" } dd { code { (text(&client["clientId"])) } }
                    dt { "Secret" } dd { (if client["hasSecret"] == true { "kept, sealed" } else { "none (a public client)" }) }
                    dt { "At" } dd { code { (text(&client["issuer"])) } }
                    dt { "Redirect URI" } dd { code { (text(&client["redirectUri"])) } }
                }
            } @else {
                p.muted { "Gatehouse has no client there yet: it registers one when someone first authorizes, "
                          "where the server allows registration. Otherwise give the one registered for Gatehouse." }
            }
            @if can_write {
                @let mine = error.is_some_and(|e| e.at("clientId").is_some() || e.at("clientSecret").is_some());
                details open[mine] {
                    summary.button.secondary { "Give a client registered by hand" }
                    form.stack method="post" action={ (base) "/oauth-client" } {
                        (csrf_input(&ctx.csrf))
                        label for="clientId" { "Client ID" }
                        input #clientId name="clientId" required maxlength="512" autocomplete="off" aria-describedby="clientId-error";
                        (field_error(error, "clientId", "clientId-error"))
                        label for="clientSecret" { "Client secret" }
                        input #clientSecret name="clientSecret" type="password" maxlength="2048" autocomplete="new-password"
                            aria-describedby="clientSecret-hint clientSecret-error";
                        p.hint #clientSecret-hint { "Write-only, sealed. Leave empty for a public client." }
                        (field_error(error, "clientSecret", "clientSecret-error"))
                        div.actions { button.primary type="submit" { "Save client" } }
                    }
                }
            }
        }
    }
}
