//! The registry of management operations. Each operation is declared once — name, method,
//! path, required scope, input and output types with their JSON Schemas, handler — and the REST
//! routes, the OpenAPI document and the management MCP tools are all generated from it.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, Method, StatusCode};
use futures_util::future::BoxFuture;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::auth::{OrgAccess, Principal, Scope};
use crate::error::{ApiError, ApiResult};
use crate::store::OrgRecord;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials (login, public keys).
    Public,
    /// Any authenticated principal; the handler decides the rest.
    Authenticated,
    /// A principal with this scope in the org named by the `{org}` path parameter.
    Org(Scope),
}

/// The static description of an operation.
#[derive(Debug, Clone)]
pub struct OpSpec {
    /// Unique snake_case name: the OpenAPI operationId and the MCP tool name.
    pub name: &'static str,
    /// HTTP method.
    pub method: Method,
    /// Path template, axum syntax (`/api/orgs/{org}/tokens/{tokenId}`).
    pub path: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Status of a successful answer (204 answers no body).
    pub status: StatusCode,
    /// Whether `/api/mcp` offers it as a tool.
    pub mcp: bool,
    /// `Cache-Control` of a successful REST answer (e.g. public keys).
    pub cache_control: Option<&'static str>,
    /// A field of the output that, when present, makes the REST answer a 303 redirect to its
    /// value (a path Gatehouse made; for flows a browser follows, such as an OAuth callback).
    pub redirect_field: Option<&'static str>,
    /// The largest request body it takes, when more than the server's setting.
    pub max_body: Option<usize>,
}

impl OpSpec {
    /// A spec with the defaults: 200, offered over MCP when it needs an org.
    pub fn new(
        name: &'static str,
        method: Method,
        path: &'static str,
        access: Access,
        summary: &'static str,
    ) -> Self {
        Self {
            name,
            method,
            path,
            summary,
            access,
            status: StatusCode::OK,
            mcp: matches!(access, Access::Org(_)),
            cache_control: None,
            redirect_field: None,
            max_body: None,
        }
    }

    /// Takes request bodies up to `bytes` (documents), beyond the server's general limit.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = Some(bytes);
        self
    }

    /// Sets the `Cache-Control` of successful REST answers.
    pub fn cache_control(mut self, value: &'static str) -> Self {
        self.cache_control = Some(value);
        self
    }

    /// Answers REST calls with a 303 to the output's `field` when it is there.
    pub fn redirect_from(mut self, field: &'static str) -> Self {
        self.redirect_field = Some(field);
        self
    }

    /// Sets the success status.
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Whether the operation changes state (and is therefore audited).
    pub fn mutating(&self) -> bool {
        self.method != Method::GET
    }

    /// Whether input comes from the query string rather than a JSON body.
    pub fn input_in_query(&self) -> bool {
        self.method == Method::GET || self.method == Method::DELETE
    }
}

/// What a handler gets besides its input.
pub struct OpCtx {
    /// Shared state.
    pub state: AppState,
    /// The caller (`None` on public operations without credentials).
    pub principal: Option<Principal>,
    /// The caller's rights in the org of the path, for org operations.
    pub access: Option<OrgAccess>,
    /// Path parameters by name.
    pub params: HashMap<String, String>,
    /// The caller's address.
    pub client_ip: Option<IpAddr>,
    /// Request headers (REST only; empty over `/api/mcp`), for public operations that check
    /// their own credentials, such as a server's `X-API-Key`.
    pub headers: HeaderMap,
    audit_org: Arc<Mutex<Option<String>>>,
}

impl OpCtx {
    /// Builds a context.
    pub fn new(
        state: AppState,
        principal: Option<Principal>,
        access: Option<OrgAccess>,
        params: HashMap<String, String>,
        client_ip: Option<IpAddr>,
        audit_org: Arc<Mutex<Option<String>>>,
    ) -> Self {
        Self { state, principal, access, params, client_ip, headers: HeaderMap::new(), audit_org }
    }

    /// The same context with the request's headers.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.headers = headers;
        self
    }

    /// A request header as text (`None` when absent or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The org of an org operation.
    pub fn org(&self) -> ApiResult<&OrgRecord> {
        self.access
            .as_ref()
            .map(|a| &a.org)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("operation has no org in its path")))
    }

    /// The caller's rights in the org.
    pub fn org_access(&self) -> ApiResult<&OrgAccess> {
        self.access
            .as_ref()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("operation has no org in its path")))
    }

    /// The authenticated caller.
    pub fn principal(&self) -> ApiResult<&Principal> {
        self.principal.as_ref().ok_or_else(|| ApiError::Unauthorized("credentials required".into()))
    }

    /// A path parameter.
    pub fn param(&self, name: &str) -> ApiResult<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| ApiError::bad_request(format!("missing parameter {name}")))
    }

    /// Attributes the audit event of an operation without `{org}` in its path to an org.
    pub fn set_audit_org(&self, org_id: &str) {
        *self.audit_org.lock().unwrap_or_else(|p| p.into_inner()) = Some(org_id.to_string());
    }
}

type Handler = Arc<dyn Fn(OpCtx, Value) -> BoxFuture<'static, ApiResult<Value>> + Send + Sync>;

/// A registered operation.
pub struct Operation {
    /// Its description.
    pub spec: OpSpec,
    /// Names of the `{…}` segments of its path, in order.
    pub path_params: Vec<String>,
    /// JSON Schema of its body (or query) input.
    pub input_schema: Value,
    /// JSON Schema of a successful answer.
    pub output_schema: Value,
    handler: Handler,
}

impl Operation {
    /// Runs the handler on already-authorised input.
    pub async fn call(&self, ctx: OpCtx, input: Value) -> ApiResult<Value> {
        (self.handler)(ctx, input).await
    }

    /// The JSON Schema of the full input: path parameters and body/query fields together
    /// (what an MCP tool takes as arguments).
    pub fn tool_input_schema(&self) -> Value {
        let mut schema = self.input_schema.clone();
        let obj = schema.as_object_mut().expect("input schemas are objects");
        obj.insert("type".into(), json!("object"));
        let props = obj.entry("properties").or_insert_with(|| json!({}));
        let props = props.as_object_mut().expect("properties is an object");
        for p in &self.path_params {
            props.insert(p.clone(), json!({"type": "string", "description": path_param_doc(p)}));
        }
        let required = obj.entry("required").or_insert_with(|| json!([]));
        if let Some(list) = required.as_array_mut() {
            for p in self.path_params.iter().rev() {
                list.insert(0, json!(p));
            }
        }
        schema
    }

    /// A concrete path for audit targets and links, e.g. `/api/orgs/acme/tokens/tok_1`.
    pub fn concrete_path(&self, params: &HashMap<String, String>) -> String {
        let mut path = self.spec.path.to_string();
        for (name, value) in params {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        path
    }
}

/// What a `{param}` is, for schemas.
pub fn path_param_doc(name: &str) -> &'static str {
    match name {
        "org" => "Organization id or slug",
        "serverId" => "Server id",
        "keyId" => "API key id",
        "pluginId" => "Plugin id, e.g. fcm",
        "tokenId" => "Management token id",
        "userId" => "User id",
        "secretId" => "Secret id",
        "notificationId" => "Notification id",
        _ => "Identifier",
    }
}

/// All operations, in registration order.
#[derive(Default)]
pub struct Registry {
    ops: Vec<Arc<Operation>>,
    by_name: BTreeMap<&'static str, usize>,
}

/// JSON Schema of `T` as an inline object schema (no `$schema`, no `$defs` left behind).
pub fn schema_of<T: JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let mut value = generator.into_root_schema_for::<T>().to_value();
    if let Some(obj) = value.as_object_mut() {
        obj.remove("$schema");
        obj.remove("title");
    }
    true_schemas_as_objects(&mut value);
    value
}

/// Writes every `true` sub-schema ("anything") as `{}`: the same in JSON Schema, and what
/// OpenAPI tools that expect each schema to be an object can read.
fn true_schemas_as_objects(schema: &mut Value) {
    const ONE: [&str; 10] = [
        "additionalProperties",
        "items",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
        "unevaluatedProperties",
        "unevaluatedItems",
    ];
    const MANY: [&str; 4] = ["prefixItems", "anyOf", "oneOf", "allOf"];
    const NAMED: [&str; 4] = ["properties", "patternProperties", "$defs", "dependentSchemas"];
    let Some(obj) = schema.as_object_mut() else { return };
    let fix = |s: &mut Value| {
        if *s == Value::Bool(true) {
            *s = json!({});
        }
        true_schemas_as_objects(s);
    };
    for key in ONE {
        if let Some(s) = obj.get_mut(key) {
            fix(s);
        }
    }
    for key in MANY {
        if let Some(Value::Array(list)) = obj.get_mut(key) {
            list.iter_mut().for_each(fix);
        }
    }
    for key in NAMED {
        if let Some(Value::Object(named)) = obj.get_mut(key) {
            named.values_mut().for_each(fix);
        }
    }
}

impl Registry {
    /// Registers an operation with a typed handler.
    pub fn add<In, Out, F, Fut>(&mut self, spec: OpSpec, handler: F)
    where
        In: DeserializeOwned + JsonSchema + Send + 'static,
        Out: Serialize + JsonSchema + 'static,
        F: Fn(OpCtx, In) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ApiResult<Out>> + Send + 'static,
    {
        assert!(!self.by_name.contains_key(spec.name), "operation {} registered twice", spec.name);
        let handler = Arc::new(handler);
        let erased: Handler = Arc::new(move |ctx, input| {
            let handler = handler.clone();
            Box::pin(async move {
                let input: In = serde_json::from_value(input)
                    .map_err(|e| ApiError::bad_request(format!("invalid input: {e}")))?;
                let out = handler(ctx, input).await?;
                serde_json::to_value(out).map_err(ApiError::internal)
            })
        });
        let mut input_schema = schema_of::<In>();
        if input_schema.get("type").is_none() {
            input_schema = json!({"type": "object", "properties": {}});
        }
        let op = Operation {
            path_params: path_params(spec.path),
            output_schema: schema_of::<Out>(),
            input_schema,
            spec,
            handler: erased,
        };
        self.by_name.insert(op.spec.name, self.ops.len());
        self.ops.push(Arc::new(op));
    }

    /// Every operation.
    pub fn operations(&self) -> &[Arc<Operation>] {
        &self.ops
    }

    /// An operation by name.
    pub fn get(&self, name: &str) -> Option<&Arc<Operation>> {
        self.by_name.get(name).map(|i| &self.ops[*i])
    }
}

fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
        .collect()
}

/// Input for operations that take none.
#[derive(Debug, Default, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoInput {}

/// Coerces query-string values to the types the input schema declares (`?limit=5` → 5).
pub fn coerce_query(schema: &Value, query: HashMap<String, String>) -> Value {
    let props = schema.get("properties").and_then(Value::as_object);
    let mut out = Map::new();
    for (key, raw) in query {
        let types = props.and_then(|p| p.get(&key)).map(declared_types).unwrap_or_default();
        let value = if types.iter().any(|t| t == "integer") {
            raw.parse::<i64>().map(Value::from).unwrap_or(Value::String(raw))
        } else if types.iter().any(|t| t == "number") {
            raw.parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::String(raw), Value::Number)
        } else if types.iter().any(|t| t == "boolean") {
            match raw.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(raw),
            }
        } else {
            Value::String(raw)
        };
        out.insert(key, value);
    }
    Value::Object(out)
}

fn declared_types(schema: &Value) -> Vec<String> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_params_are_found_in_order() {
        assert_eq!(path_params("/api/orgs/{org}/tokens/{tokenId}"), vec!["org", "tokenId"]);
        assert!(path_params("/api/orgs").is_empty());
    }

    #[test]
    fn query_values_follow_the_schema() {
        let schema = json!({"properties": {"limit": {"type": ["integer", "null"]}, "q": {"type": "string"}}});
        let q = HashMap::from([("limit".to_string(), "5".to_string()), ("q".to_string(), "5".to_string())]);
        assert_eq!(coerce_query(&schema, q), json!({"limit": 5, "q": "5"}));
    }
}
