//! Importing a document again after the API changed: what it adds, changes and removes among the
//! import's tools, shown, then applied. Added and changed tools follow the import's approval
//! policy: under `manual` they are not served until an admin approves each.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::apply::{Carried, tool_of};
use super::source::{ImportSource, unprocessable};
use crate::api::http_tools::{APPROVED, PENDING, check, definition};
use crate::api::registry::OpCtx;
use crate::api::servers::{announce, server_of};
use crate::domain::time;
use crate::error::{ApiError, ApiResult};
use crate::openapi::{self, Skipped};
use crate::store::{HttpToolRecord, ImportRecord};

/// Input of a re-import.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reimport {
    /// The document now; without it, fetched again from the import's URL with its selection and
    /// base URL.
    source: Option<ImportSource>,
}

/// One tool in a re-import's difference.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolChange {
    name: String,
    operation: String,
    /// For a changed tool, what changed (`description`, `parameters`, `endpointUrl`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<&'static str>,
    /// The definition the server has (changed and removed tools).
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<Value>,
    /// The definition the document gives now (added and changed tools).
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<Value>,
}

/// What a re-import adds, changes and removes.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReimportDiff {
    added: Vec<ToolChange>,
    changed: Vec<ToolChange>,
    removed: Vec<ToolChange>,
    unchanged: usize,
    skipped: Vec<Skipped>,
    /// The state added and changed tools get: `pending` (not served until approved) or
    /// `approved`, as the import's policy says.
    approval_state: &'static str,
}

/// A re-import worked out: the difference and the records that make it.
struct Worked {
    import: ImportRecord,
    diff: ReimportDiff,
    added: Vec<HttpToolRecord>,
    changed: Vec<HttpToolRecord>,
    removed: Vec<String>,
}

/// The fields of a definition a re-import compares, by name.
fn changed_fields(old: &HttpToolRecord, new: &HttpToolRecord) -> Vec<&'static str> {
    let pairs: [(&'static str, bool); 9] = [
        ("name", old.name != new.name),
        ("description", old.description != new.description),
        ("method", old.method != new.method),
        ("endpointUrl", old.endpoint_url != new.endpoint_url),
        ("parameters", old.parameters != new.parameters),
        ("body", old.body != new.body),
        ("outputSchema", old.output_schema != new.output_schema),
        (
            "auth",
            old.auth_type != new.auth_type
                || old.auth_header != new.auth_header
                || old.auth_oauth != new.auth_oauth,
        ),
        ("credential", old.auth_secret_id != new.auth_secret_id),
    ];
    pairs.into_iter().filter(|(_, differs)| *differs).map(|(field, _)| field).collect()
}

async fn work_out(ctx: &OpCtx, input: Reimport) -> ApiResult<Worked> {
    let server = server_of(ctx).await?;
    let id = ctx.param("importId")?;
    let mut import = ctx
        .state
        .store
        .import_get(&server.org_id, &server.id, id)
        .await?
        .ok_or(ApiError::NotFound("import"))?;
    let source = match input.source {
        Some(source) => source,
        None => {
            let url = import.source_url.clone().ok_or_else(|| {
                ApiError::unprocessable("this import was given as text: give the document again as source")
            })?;
            let selection: Value = serde_json::from_str(&import.selection).map_err(ApiError::internal)?;
            ImportSource::again(url, import.base_url.clone(), &selection)
        }
    };
    let options = source.options()?;
    let set = source.load(&ctx.state.plane.outbound).await?;
    let plan = openapi::plan(&set, &options).map_err(unprocessable)?;
    let now = time::now_ms();
    import.title = plan.title.clone();
    import.source_url = options.source_url.clone();
    import.base_url = options.base_url.clone();
    import.selection = json!({"tags": options.selection.tags, "paths": options.selection.paths,
        "operations": options.selection.operations})
    .to_string();
    import.updated_at = now;
    let approval = if import.approval_policy == "auto_approve" { APPROVED } else { PENDING };
    let credentials: Value = serde_json::from_str(&import.credentials).map_err(ApiError::internal)?;

    let existing = ctx.state.store.import_tools(&import.org_id, &import.id).await?;
    let others: Vec<String> = ctx
        .state
        .store
        .tool_list(&import.org_id, &import.server_id)
        .await?
        .into_iter()
        .filter(|t| t.import_id.as_deref() != Some(import.id.as_str()))
        .map(|t| t.name)
        .collect();
    let (mut added, mut changed, mut diff_added, mut diff_changed, mut unchanged) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), 0);
    let mut kept = Vec::new();
    for planned in &plan.tools {
        let carried = planned.auth.as_ref().and_then(|a| Carried::of(&credentials, &a.scheme));
        let mut tool = tool_of(planned, &import, carried, now, approval)?;
        check(&tool).map_err(|e| ApiError::unprocessable(format!("{}: {e}", planned.operation)))?;
        let change = |fields, before: Option<&HttpToolRecord>, after: &HttpToolRecord| -> ApiResult<_> {
            Ok(ToolChange {
                name: planned.name.clone(),
                operation: planned.operation.clone(),
                fields,
                before: before.map(definition).transpose()?,
                after: Some(definition(after)?),
            })
        };
        match existing.iter().find(|t| t.operation.as_deref() == Some(planned.operation.as_str())) {
            None => {
                diff_added.push(change(Vec::new(), None, &tool)?);
                added.push(tool);
            }
            Some(old) => {
                kept.push(old.id.clone());
                let fields = changed_fields(old, &tool);
                if fields.is_empty() {
                    unchanged += 1;
                    continue;
                }
                tool.id = old.id.clone();
                tool.created_at = old.created_at;
                // Waiting, the change is reviewed against what was last approved.
                tool.approved_definition = match (approval, old.approval_state.as_str()) {
                    (APPROVED, _) => None,
                    (_, APPROVED) => Some(definition(old)?.to_string()),
                    _ => old.approved_definition.clone(),
                };
                diff_changed.push(change(fields, Some(old), &tool)?);
                changed.push(tool);
            }
        }
    }
    let clashes: Vec<&str> = added
        .iter()
        .chain(&changed)
        .map(|t| t.name.as_str())
        .filter(|n| others.iter().any(|o| o == n))
        .collect();
    if !clashes.is_empty() {
        return Err(ApiError::conflict(format!(
            "the server already has tools named {} that this import did not make",
            clashes.join(", ")
        )));
    }
    let gone: Vec<&HttpToolRecord> = existing.iter().filter(|t| !kept.contains(&t.id)).collect();
    let diff = ReimportDiff {
        added: diff_added,
        changed: diff_changed,
        removed: gone
            .iter()
            .map(|t| {
                Ok(ToolChange {
                    name: t.name.clone(),
                    operation: t.operation.clone().unwrap_or_default(),
                    fields: Vec::new(),
                    before: Some(definition(t)?),
                    after: None,
                })
            })
            .collect::<ApiResult<_>>()?,
        unchanged,
        skipped: plan.skipped,
        approval_state: approval,
    };
    let removed = gone.into_iter().map(|t| t.id.clone()).collect();
    Ok(Worked { import, diff, added, changed, removed })
}

pub(super) async fn preview(ctx: OpCtx, input: Reimport) -> ApiResult<ReimportDiff> {
    Ok(work_out(&ctx, input).await?.diff)
}

pub(super) async fn apply(ctx: OpCtx, input: Reimport) -> ApiResult<ReimportDiff> {
    let worked = work_out(&ctx, input).await?;
    ctx.state.store.import_apply(&worked.import, &worked.added, &worked.changed, &worked.removed).await?;
    announce(&ctx, &worked.import.server_id).await?;
    Ok(worked.diff)
}
