//! The OpenAPI 3.1 document served at `/api/openapi.json`, written out by hand so it documents
//! exactly the routes in [`crate::api`] (a test checks every route is listed).
use serde_json::{Value, json};

/// A runtime module's route table: (method, path, permission, summary).
/// One documented operation: method, path, summary, permission needed, request body kind.
pub struct Op {
    /// HTTP method, lower case.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Permission needed, or "session" / "none".
    pub needs: &'static str,
    /// Body: "json", "toml" or "".
    pub body: &'static str,
}

/// Every operation of the API.
pub const OPS: &[Op] = &[
    Op {
        method: "get",
        path: "/healthz",
        summary: "Liveness and database check",
        needs: "none",
        body: "",
    },
    Op {
        method: "get",
        path: "/api/openapi.json",
        summary: "This document",
        needs: "none",
        body: "",
    },
];

/// The document as JSON bytes, made once per router and shared by every request.
#[derive(Clone)]
pub struct DocumentJson(pub axum::body::Bytes);

impl DocumentJson {
    /// Serializes `doc` once.
    pub fn new(doc: &Value) -> DocumentJson {
        DocumentJson(axum::body::Bytes::from(doc.to_string()))
    }
}

/// One operation still described by hand (a route not yet converted to `crate::http`).
struct LegacyOp {
    method: String,
    path: String,
    summary: String,
    needs: String,
    body: &'static str,
}

/// The hand-written operations (the two routes outside `/api/v1`).
fn legacy_ops() -> Vec<LegacyOp> {
    OPS.iter()
        .map(|op| LegacyOp {
            method: op.method.to_owned(),
            path: op.path.to_owned(),
            summary: op.summary.to_owned(),
            needs: op.needs.to_owned(),
            body: op.body,
        })
        .collect()
}

/// The OpenAPI document: every operation generated from `crate::http` (with request and
/// response schemas), plus the hand-written description of the routes not yet converted. Built
/// once when the router is made; serving it allocates nothing that outlives the request.
pub fn document(generated: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(&generated).unwrap_or_else(|_| json!({}));
    doc["openapi"] = json!("3.1.0");
    doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    if !doc["paths"].is_object() {
        doc["paths"] = json!({});
    }
    if !doc["components"]["schemas"].is_object() {
        doc["components"]["schemas"] = json!({});
    }
    doc["components"]["schemas"]["Error"] = json!({"type": "object", "required": ["error", "message"], "properties": {"error": {"type": "string"}, "message": {"type": "string"}}});
    for op in legacy_ops() {
        if doc["paths"][&op.path][&op.method].is_object() {
            continue;
        }
        let mut o = json!({
            "summary": op.summary,
            "description": format!("Needs: {}.", op.needs),
            "responses": {
                "200": {"description": "OK"},
                "400": {"description": "Bad input; nothing changed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "401": {"description": "Not logged in"},
                "403": {"description": "Not allowed (recorded in the journal)"},
            },
        });
        let params: Vec<Value> = op
            .path
            .split('{')
            .skip(1)
            .filter_map(|p| p.split('}').next())
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            o["parameters"] = Value::Array(params);
        }
        match op.body {
            "json" => {
                o["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}})
            }
            "toml" => {
                o["requestBody"] = json!({"required": true, "content": {"application/toml": {"schema": {"type": "string"}}}})
            }
            _ => {}
        }
        if op.method != "get" && op.needs != "none" && op.needs != "half session" {
            o["description"] = json!(format!(
                "Needs: {}. State-changing: send the session's CSRF token in X-CSRF-Token.",
                op.needs
            ));
        }
        if op.needs == "none" || op.needs.starts_with('(') {
            // Public, or authenticated by something other than a session (a share link's token).
            o["security"] = json!([]);
        } else if op.needs != "session" && op.needs != "half session" {
            o["security"] = json!([{"session": [op.needs]}]);
        }
        if !doc["paths"][&op.path].is_object() {
            doc["paths"][&op.path] = json!({});
        }
        doc["paths"][&op.path][&op.method] = o;
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every literal route path in the server's sources (`.route("PATH", ...)`, or the
    /// subsystem tables' `&r("PATH")` with their prefix).
    fn source_routes() -> Vec<String> {
        let mut found = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("src readable").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs")
                    || path.file_name().is_some_and(|f| f == "openapi.rs")
                {
                    continue;
                }
                let src = std::fs::read_to_string(&path).expect("source readable");
                for piece in src.split(".route(").skip(1) {
                    if let Some(p) = piece
                        .trim_start()
                        .strip_prefix('"')
                        .and_then(|p| p.split('"').next())
                    {
                        found.push(p.to_owned());
                    }
                }
            }
        }
        found
    }

    /// Every route in the server's sources must be documented.
    #[test]
    fn every_route_is_documented() {
        let doc = document(crate::http::api_router().into_openapi());
        let missing: Vec<String> = source_routes()
            .into_iter()
            .filter(|p| p.starts_with("/api"))
            .filter(|p| !doc["paths"].get(p).is_some_and(|v| v.is_object()))
            .collect();
        assert!(missing.is_empty(), "undocumented routes: {missing:?}");
    }

    /// Every JSON request body and every JSON response of `/api/v1` has a schema, and every
    /// success answer says what it carries (a body with a schema, or none at all for 204).
    #[test]
    fn every_api_body_has_a_schema() {
        let doc = document(crate::http::api_router().into_openapi());
        let mut bad = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            if !path.starts_with("/api/v1") {
                continue;
            }
            for (method, op) in item.as_object().expect("path item") {
                let name = format!("{method} {path}");
                if let Some(body) = op.get("requestBody") {
                    for (media, content) in body["content"].as_object().into_iter().flatten() {
                        if content.get("schema").is_none() {
                            bad.push(format!("{name}: request {media} without a schema"));
                        }
                    }
                }
                let responses = op["responses"].as_object().expect("responses");
                let mut success_described = false;
                for (status, response) in responses {
                    let content = response.get("content").and_then(Value::as_object);
                    if status.starts_with('2') && (status == "204" || content.is_some()) {
                        success_described = true;
                    }
                    for (media, c) in content.into_iter().flatten() {
                        if c.get("schema").is_none() {
                            bad.push(format!("{name}: {status} {media} without a schema"));
                        }
                    }
                }
                if !success_described {
                    bad.push(format!("{name}: no success answer with a body schema"));
                }
            }
        }
        assert!(bad.is_empty(), "operations without schemas: {bad:#?}");
    }

    /// Every site operation names exactly one permission, and it is a real one.
    #[test]
    fn site_operations_name_one_valid_permission() {
        use strongroom_domain::auth::Permission;
        let doc = document(crate::http::api_router().into_openapi());
        let valid: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
        let mut bad = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            if !path.starts_with("/api/v1/sites/{site}") {
                continue;
            }
            for (method, op) in item.as_object().expect("path item") {
                // `[]` (hand-written) or `[{}]` (generated): no requirement.
                let public = op["security"].as_array().is_some_and(|s| {
                    s.iter()
                        .all(|r| r.as_object().is_some_and(|o| o.is_empty()))
                });
                if path.contains("{token}") && public {
                    // Token-authenticated (a share link): no session permission applies.
                    continue;
                }
                let scopes = &op["security"][0]["session"];
                let ok = scopes.as_array().is_some_and(|s| {
                    s.len() == 1 && s[0].as_str().is_some_and(|p| valid.contains(&p))
                });
                if !ok {
                    bad.push(format!("{method} {path}: {scopes}"));
                }
            }
        }
        assert!(
            bad.is_empty(),
            "operations without one valid permission: {bad:#?}"
        );
    }
}
