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

/// Alarm and video operations (`alarm_rt`, `video_rt`).
pub const SUBSYSTEM_OPS: &[Op] = &[
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/alarms",
        summary: "The alarm queue: open alarms with their times (silent alarms only for monitoring roles)",
        needs: "alarms-view",
        body: "",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/alarms/arming",
        summary: "Arming state per partition and zone states",
        needs: "alarms-view",
        body: "",
    },
    Op {
        method: "post",
        path: "/api/v1/sites/{site}/alarms/arming",
        summary: "Arm (away/stay) or disarm a partition",
        needs: "arming-control",
        body: "json",
    },
    Op {
        method: "post",
        path: "/api/v1/sites/{site}/alarms/panic",
        summary: "Raise a panic alarm from the console",
        needs: "panic-raise",
        body: "json",
    },
    Op {
        method: "post",
        path: "/api/v1/sites/{site}/alarms/drill",
        summary: "Start a drill (runs end to end, marked as a test)",
        needs: "alarms-handle",
        body: "json",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/alarms/report",
        summary: "Handling times per alarm (raised to dispatch, acknowledgement, resolution)",
        needs: "alarms-view",
        body: "",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/alarms/{alarm}",
        summary: "One alarm with its lifecycle",
        needs: "alarms-view",
        body: "",
    },
    Op {
        method: "post",
        path: "/api/v1/sites/{site}/alarms/{alarm}/ack",
        summary: "Acknowledge an alarm (stops escalation)",
        needs: "alarms-handle",
        body: "json",
    },
    Op {
        method: "post",
        path: "/api/v1/sites/{site}/alarms/{alarm}/notes",
        summary: "Add a note to an alarm",
        needs: "alarms-handle",
        body: "json",
    },
    Op {
        method: "post",
        path: "/api/v1/sites/{site}/alarms/{alarm}/resolve",
        summary: "Resolve an alarm as real, false or drill",
        needs: "alarms-handle",
        body: "json",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/video/cameras",
        summary: "Cameras with state, measured fps and resolution",
        needs: "site-view",
        body: "",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/video/cameras/{camera}/timeline",
        summary: "Recorded spans, gaps, and the alarm/access events of the covered areas",
        needs: "video-recorded",
        body: "",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/video/cameras/{camera}/still",
        summary: "A still (jpg, bmp, gif) at an instant or live, with camera name and time burned in; journaled",
        needs: "video-recorded",
        body: "",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/video/cameras/{camera}/playback.mp4",
        summary: "Recorded video of a range as MP4 (byte ranges supported); journaled",
        needs: "video-recorded",
        body: "",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/video/cameras/{camera}/playback.json",
        summary: "The wall-clock map of a playback: which recorded stretches the MP4 of the same range holds, so a player can show the time of the frame on screen. Metadata only (no pictures).",
        needs: "video-recorded",
        body: "",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/video/exports",
        summary: "Evidence exports",
        needs: "video-recorded",
        body: "",
    },
    Op {
        method: "post",
        path: "/api/v1/sites/{site}/video/exports",
        summary: "Export a camera and range as a signed evidence bundle (reason required); journaled",
        needs: "video-export",
        body: "json",
    },
    Op {
        method: "post",
        path: "/api/v1/sites/{site}/video/exports/{id}/verify",
        summary: "Re-verifies a stored bundle against the site's own key and journals the result (EXP-06).",
        needs: "video-recorded",
        body: "json",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/video/exports/{id}/{file}",
        summary: "Download a file of an evidence bundle",
        needs: "video-recorded",
        body: "",
    },
    Op {
        method: "get",
        path: "/api/v1/sites/{site}/video/holds",
        summary: "Legal holds",
        needs: "video-recorded",
        body: "",
    },
    Op {
        method: "post",
        path: "/api/v1/sites/{site}/video/holds",
        summary: "Place a legal hold (cameras, range, reason, reference)",
        needs: "holds-manage",
        body: "json",
    },
    Op {
        method: "post",
        path: "/api/v1/sites/{site}/video/holds/{id}/release",
        summary: "Release a legal hold (IL: Department approval reference required)",
        needs: "holds-manage",
        body: "json",
    },
];

/// The document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    let compliance: Vec<Op> = crate::compliance_rt::ROUTES
        .iter()
        .map(|(method, path, needs, summary)| Op {
            method,
            path: Box::leak(format!("/api/v1/sites/{{site}}/compliance{path}").into_boxed_str()),
            summary,
            needs,
            body: if *method == "get" { "" } else { "json" },
        })
        .collect();
    let access: Vec<Op> = crate::access_rt::ROUTES
        .iter()
        .map(|(method, path, needs, summary)| Op {
            method,
            path: Box::leak(format!("/api/v1/sites/{{site}}{path}").into_boxed_str()),
            summary,
            needs,
            body: if *method == "get" || *method == "delete" {
                ""
            } else {
                "json"
            },
        })
        .collect();
    for op in OPS
        .iter()
        .chain(SUBSYSTEM_OPS)
        .chain(access.iter())
        .chain(compliance.iter())
    {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.route("PATH", ...)` in the server's sources must be documented.
    #[test]
    fn every_route_is_documented() {
        let doc = document();
        let sources = [
            include_str!("api.rs"),
            include_str!("alarm_rt.rs"),
            include_str!("video_rt.rs"),
        ];
        let mut missing = Vec::new();
        for src in sources {
            for piece in src.split(".route(").skip(1) {
                let Some(path) = piece
                    .trim_start()
                    .strip_prefix('"')
                    .and_then(|p| p.split('"').next())
                else {
                    continue;
                };
                if !doc["paths"].get(path).is_some_and(|v| v.is_object()) {
                    missing.push(path.to_owned());
                }
            }
        }
        let access_src = include_str!("access_rt.rs");
        for piece in access_src.split("&r(\"").skip(1) {
            if let Some(path) = piece.split('"').next() {
                let full = format!("/api/v1/sites/{{site}}/access{path}");
                if doc["paths"].get(&full).is_none() {
                    missing.push(full);
                }
            }
        }
        for (_, path, _, _) in crate::compliance_rt::ROUTES {
            let full = format!("/api/v1/sites/{{site}}/compliance{path}");
            if doc["paths"].get(&full).is_none() {
                missing.push(full);
            }
        }
        assert!(missing.is_empty(), "undocumented routes: {missing:?}");
    }
}
