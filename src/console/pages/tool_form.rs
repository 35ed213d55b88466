//! The Add tool / edit form's values: as typed, as stored, and as the input of the tool
//! operations (parameters, auth with a credential, a secret, or an OAuth client).

use serde_json::{Value, json};

use crate::console::context::text;
use maud::{Markup, html};

use crate::console::form::{Fields, FormError, field_error};
use crate::domain::http_tool::Parameter;

/// One row of the parameter table, as typed.
#[derive(Debug, Clone, Default)]
pub(super) struct Row {
    pub(super) name: String,
    pub(super) location: String,
    pub(super) kind: String,
    pub(super) required: bool,
    pub(super) description: String,
}

/// The tool form's values, as typed or as stored.
pub(super) struct ToolForm {
    pub(super) name: String,
    pub(super) description: String,
    pub(super) method: String,
    pub(super) endpoint_url: String,
    pub(super) timeout_ms: String,
    pub(super) rows: Vec<Row>,
    pub(super) auth_type: String,
    pub(super) credential: String,
    pub(super) header: String,
    pub(super) secret_id: String,
    /// Whether the stored tool holds a credential (edit: blank keeps it).
    pub(super) credential_set: bool,
    /// Where an `api_key_query` key goes.
    pub(super) query_parameter: String,
    /// The grant of `oauth_client_credentials`: token endpoint, client id, scope.
    pub(super) token_url: String,
    pub(super) client_id: String,
    pub(super) scope: String,
}

impl ToolForm {
    pub(super) fn blank() -> Self {
        Self {
            name: String::new(),
            description: String::new(),
            method: "GET".into(),
            endpoint_url: String::new(),
            timeout_ms: String::new(),
            rows: Vec::new(),
            auth_type: "none".into(),
            credential: String::new(),
            header: String::new(),
            secret_id: String::new(),
            credential_set: false,
            query_parameter: String::new(),
            token_url: String::new(),
            client_id: String::new(),
            scope: String::new(),
        }
    }

    pub(super) fn of_tool(tool: &Value) -> Self {
        let rows = tool["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| Row {
                name: text(&p["name"]),
                location: text(&p["location"]),
                kind: text(&p["type"]),
                required: p["required"].as_bool().unwrap_or(false),
                description: text(&p["description"]),
            })
            .collect();
        Self {
            name: text(&tool["name"]),
            description: text(&tool["description"]),
            method: text(&tool["method"]),
            endpoint_url: text(&tool["endpointUrl"]),
            timeout_ms: tool["timeoutMs"].as_i64().map(|t| t.to_string()).unwrap_or_default(),
            rows,
            auth_type: text(&tool["auth"]["type"]),
            credential: String::new(),
            header: text(&tool["auth"]["header"]),
            secret_id: text(&tool["auth"]["secretId"]),
            credential_set: tool["auth"]["credentialSet"].as_bool().unwrap_or(false),
            query_parameter: text(&tool["auth"]["parameter"]),
            token_url: text(&tool["auth"]["oauth"]["tokenUrl"]),
            client_id: text(&tool["auth"]["oauth"]["clientId"]),
            scope: text(&tool["auth"]["oauth"]["scope"]),
        }
    }

    pub(super) fn posted(f: &Fields) -> Self {
        let names = f.all("param_name");
        let locations = f.all("param_location");
        let kinds = f.all("param_type");
        let required = f.all("param_required");
        let descriptions = f.all("param_description");
        let rows = (0..names.len())
            .map(|i| Row {
                name: names[i].trim().to_string(),
                location: locations.get(i).copied().unwrap_or("query").to_string(),
                kind: kinds.get(i).copied().unwrap_or("string").to_string(),
                required: required.get(i).copied() == Some("yes"),
                description: descriptions.get(i).copied().unwrap_or_default().trim().to_string(),
            })
            .filter(|r| !r.name.is_empty())
            .collect();
        Self {
            name: f.get("name").to_string(),
            description: f.get("description").to_string(),
            method: f.get("method").to_string(),
            endpoint_url: f.get("endpointUrl").to_string(),
            timeout_ms: f.get("timeoutMs").to_string(),
            rows,
            auth_type: f.get("auth_type").to_string(),
            credential: f.get("credential").to_string(),
            header: f.get("header").to_string(),
            secret_id: f.get("secretId").to_string(),
            credential_set: f.get("credential_set") == "yes",
            query_parameter: f.get("query_parameter").to_string(),
            token_url: f.get("tokenUrl").to_string(),
            client_id: f.get("clientId").to_string(),
            scope: f.get("scope").to_string(),
        }
    }

    /// The parameters the rows describe (rows that do not parse are left out of the preview;
    /// the operation reports them on save).
    pub(super) fn parameters(&self) -> Vec<Parameter> {
        self.rows.iter().filter_map(|r| serde_json::from_value(row_json(r)).ok()).collect()
    }

    /// The operation's input. Blank credential on edit keeps the stored one.
    pub(super) fn input(&self, editing: bool) -> Result<Value, FormError> {
        let timeout = match self.timeout_ms.as_str() {
            "" => None,
            raw => Some(raw.parse::<i64>().map_err(|_| {
                FormError::invalid("timeoutMs", "timeoutMs must be a whole number of milliseconds")
            })?),
        };
        let auth = if self.auth_type == "none" || self.auth_type.is_empty() {
            json!({"type": "none"})
        } else {
            let mut auth = json!({"type": self.auth_type});
            if !self.secret_id.is_empty() {
                auth["secretId"] = json!(self.secret_id);
            } else if !self.credential.is_empty() || !editing {
                auth["credential"] = json!(self.credential);
            }
            match self.auth_type.as_str() {
                "api_key" => auth["header"] = json!(self.header),
                "api_key_query" => auth["parameter"] = json!(self.query_parameter),
                "oauth_client_credentials" => {
                    auth["oauth"] = json!({"tokenUrl": self.token_url, "clientId": self.client_id});
                    if !self.scope.is_empty() {
                        auth["oauth"]["scope"] = json!(self.scope);
                    }
                }
                _ => {}
            }
            auth
        };
        let mut input = json!({
            "name": self.name,
            "description": self.description,
            "method": self.method,
            "endpointUrl": self.endpoint_url,
            "parameters": self.rows.iter().map(row_json).collect::<Vec<_>>(),
            "auth": auth,
        });
        if let Some(timeout) = timeout {
            input["timeoutMs"] = json!(timeout);
        }
        Ok(input)
    }
}

pub(super) fn row_json(r: &Row) -> Value {
    json!({"name": r.name, "location": r.location, "type": r.kind, "required": r.required, "description": r.description})
}

/// The OAuth client-credentials fields of the auth card.
pub(super) fn oauth_fields(form: &ToolForm, error: Option<&FormError>) -> Markup {
    let input = |name: &str, label: &str, value: &str, placeholder: &str| {
        html! {
            label for=(name) { (label) " " span.muted { "(OAuth client credentials only)" } }
            input #(name) name=(name) value=(value) placeholder=(placeholder) spellcheck="false"
                aria-describedby={ (name) "-error" };
            (field_error(error, name, &format!("{name}-error")))
        }
    };
    html! {
        (input("tokenUrl", "Token URL", &form.token_url, "https://auth.example.com/oauth/token"))
        (input("clientId", "Client ID", &form.client_id, ""))
        (input("scope", "Scope", &form.scope, "read write"))
        p.hint { "The client secret is the credential (or the secret) above; Gatehouse asks the token URL for a token and sends it as a Bearer token." }
    }
}
