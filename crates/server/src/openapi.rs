//! The OpenAPI 3.1 document served at `/api/openapi.json`, written out by hand so it documents
//! exactly the routes in [`crate::api`] (a test checks every route is listed).
use serde_json::{Value, json};

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
    Op {
        method: "post",
        path: "/api/v1/login",
        summary: "Password login; sets the session cookie; says whether a TOTP code is required next",
        needs: "none",
        body: "json",
    },
    Op {
        method: "post",
        path: "/api/v1/login/totp",
        summary: "Second factor: TOTP code",
        needs: "half session",
        body: "json",
    },
    Op {
        method: "post",
        path: "/api/v1/logout",
        summary: "End the session",
        needs: "session",
        body: "",
    },
    Op {
        method: "get",
        path: "/api/v1/me",
        summary: "The user, CSRF token, sites, roles and permissions",
        needs: "session",
        body: "",
    },
    Op {
        method: "post",
        path: "/api/v1/me/password",
        summary: "Change password (12+ characters)",
        needs: "session",
        body: "json",
    },
    Op {
        method: "post",
        path: "/api/v1/me/totp/begin",
        summary: "Start TOTP enrolment: returns secret and otpauth URI",
        needs: "session",
        body: "",
    },
    Op {
        method: "post",
        path: "/api/v1/me/totp/confirm",
        summary: "Finish TOTP enrolment with a code",
        needs: "session",
        body: "json",
    },
    Op {
        method: "get",
        path: "/api/v1/sites",
        summary: "Sites the user can see",
        needs: "session",
        body: "",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}",
        summary: "The site model: areas, doors, readers, sensors, panels, cameras, policy",
        needs: "site-view",
        body: "",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/events",
        summary: "Journal events, newest first (kind prefix, before seq, limit); silent alarms only for monitoring roles",
        needs: "events-view",
        body: "",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/events/stream",
        summary: "Live journal events (Server-Sent Events)",
        needs: "events-view",
        body: "",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/devices",
        summary: "Current state of every device (projection)",
        needs: "site-view",
        body: "",
    },
    Op {
        method: "post",
        path: "/api/v1/sites/{site}/device-events",
        summary: "A controller reports a device state; answered after it is durable",
        needs: "doors-control",
        body: "json",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/config",
        summary: "The site file in force (TOML)",
        needs: "config-manage",
        body: "",
    },
    Op {
        method: "put",
        path: "/api/v1/sites/{site}/config",
        summary: "Replace the site file; refused with located errors if invalid (the last good one stays)",
        needs: "config-manage",
        body: "toml",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/journal/verify",
        summary: "Verify the hash chain and signed checkpoints",
        needs: "journal-view",
        body: "",
    },
    Op {
        method: "get",
        path: "/api/v1/users",
        summary: "List users",
        needs: "users-manage",
        body: "",
    },
    Op {
        method: "post",
        path: "/api/v1/users",
        summary: "Create a user with a one-time password",
        needs: "users-manage",
        body: "json",
    },
];

/// The document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for op in OPS {
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
        if op.path.contains("{site}") {
            o["parameters"] = json!([{"name": "site", "in": "path", "required": true, "schema": {"type": "string"}}]);
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
        let entry = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        entry[op.method] = o;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Strongroom API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Security platform for licensed cannabis businesses. Log in with POST /api/v1/login; the session is an HttpOnly cookie. Every state-changing call needs the X-CSRF-Token header."
        },
        "components": {
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message"], "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}
            },
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "sr_session"}}
        },
        "security": [{"session": []}],
        "paths": paths,
    })
}
