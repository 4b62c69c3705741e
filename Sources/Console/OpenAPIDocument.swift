import Foundation

extension ReportAPI {
    /// The API as an OpenAPI 3.0 document (JSON), made from `descriptions`: a path per report with
    /// every parameter's type, default and meaning, the answers (an array of objects for
    /// format=json, one object for format=table; text for csv, text and html) and the errors. `authenticated`: the server
    /// wants a bearer token, so every operation needs `bearerAuth`.
    public static func openAPI(authenticated: Bool) -> String {
        var paths: [String: Any] = [
            "/api/v1/reports": [
                "get": [
                    "operationId": "listReports",
                    "summary": "The names of the reports.",
                    "responses": [
                        "200": [
                            "description": "The reports, in order.",
                            "content": ["application/json": ["schema": [
                                "type": "object", "required": ["reports"],
                                "properties": ["reports": ["type": "array", "items": ["type": "string", "enum": reports]]],
                            ]]],
                        ],
                        "401": OpenAPI.error("No bearer token, or not the server's."),
                    ],
                ],
            ],
            "/api/v1/view": [
                "get": [
                    "operationId": "describeView",
                    "summary": "The view the reports read: its table, bin size, time zone, storage and the columns reports can name.",
                    "responses": [
                        "200": [
                            "description": "The view.",
                            "content": ["application/json": ["schema": [
                                "type": "object", "required": ["table", "bin_seconds", "utc", "storage", "capacities", "failure_groups", "primitives", "reports"],
                                "properties": [
                                    "table": ["type": "string"],
                                    "bin_seconds": ["type": "integer", "description": "The table's own bins, in seconds."],
                                    "bin_origin": ["type": "string", "description": "What said so: given, the configuration, the collector, the stamps."],
                                    "utc": ["type": "boolean", "description": "Stamps are UTC; else the server's local time."],
                                    "storage": ["type": "string", "enum": ["sqlite3", "clickhouse"]],
                                    "capacities": ["type": "boolean", "description": "The server has a capacity file (console_capacities)."],
                                    "failure_groups": ["type": "boolean", "description": "The server has groups of exits (console_failure_groups)."],
                                    "primitives": ["type": "array", "items": ["type": "string"],
                                                   "description": "Columns that by, rows, columns and where can name."],
                                    "reports": ["type": "array", "items": ["type": "string", "enum": reports]],
                                ],
                            ]]],
                        ],
                        "401": OpenAPI.error("No bearer token, or not the server's."),
                    ],
                ],
            ],
            "/api/v1/openapi.json": [
                "get": [
                    "operationId": "openAPI",
                    "summary": "This document.",
                    "responses": [
                        "200": ["description": "The OpenAPI 3.0 document.", "content": ["application/json": ["schema": ["type": "object"]]]],
                        "401": OpenAPI.error("No bearer token, or not the server's."),
                    ],
                ],
            ],
        ]
        for report in descriptions {
            paths["/api/v1/reports/\(report.name)"] = ["get": OpenAPI.operation(report)]
        }
        var document: [String: Any] = [
            "openapi": "3.0.3",
            "info": [
                "title": "pathflow console API",
                "version": "1",
                "description": "Capacity-planning reports from a view's stored tables: the tables `pathflow report` prints, "
                    + "computed by the same code. Files (capacities, failure groups) are the server's, never a request's.",
            ],
            "paths": paths,
            "components": [
                "securitySchemes": ["bearerAuth": ["type": "http", "scheme": "bearer"]],
                "schemas": [
                    "Error": ["type": "object", "required": ["error"], "properties": ["error": ["type": "string"]]],
                    "Rows": [
                        "type": "array",
                        "description": "format=json: one object per row of the table, its columns by name, numbers as numbers, '-' where there is no value.",
                        "items": ["type": "object", "additionalProperties": true],
                    ],
                    "Table": [
                        "type": "object",
                        "description": "format=table: the table as one object; rows as arrays in the order of columns, types per column "
                            + "(integer, bytes, rate in bit/s, percent, or text when it has no number).",
                        "required": ["title", "subtitle", "notes", "columns", "types", "rows"],
                        "properties": [
                            "title": ["type": "string"],
                            "subtitle": ["type": "string", "nullable": true, "description": "The range."],
                            "notes": ["type": "array", "items": ["type": "string"]],
                            "columns": ["type": "array", "items": ["type": "string"]],
                            "types": ["type": "array", "items": ["type": "string", "enum": ["text", "integer", "bytes", "rate", "percent"]]],
                            "rows": ["type": "array", "items": ["type": "array", "items": [String: Any]()]],
                        ],
                    ],
                ],
            ],
        ]
        if authenticated { document["security"] = [["bearerAuth": [String]()]] }
        guard let data = try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// The parts of the OpenAPI document made per report.
enum OpenAPI {
    static func operation(_ report: ReportAPI.Description) -> [String: Any] {
        [
            "operationId": "report_" + report.name.replacingOccurrences(of: "-", with: "_"),
            "summary": report.summary,
            "parameters": report.allParameters.map(parameter),
            "responses": [
                "200": [
                    "description": "The report's table: an array of objects (format=json), one object (format=table), CSV, text, "
                        + "or an HTML page with a chart.",
                    "content": [
                        "application/json": ["schema": ["oneOf": [["$ref": "#/components/schemas/Rows"], ["$ref": "#/components/schemas/Table"]]]],
                        "text/csv": ["schema": ["type": "string"]],
                        "text/plain": ["schema": ["type": "string"]],
                        "text/html": ["schema": ["type": "string"]],
                    ],
                ],
                "400": error("A parameter is wrong or unknown, or the report cannot be computed on this view: the reason."),
                "401": error("No bearer token, or not the server's."),
                "404": error("No such report."),
                "500": error("A file of the server's (capacities, failure groups) cannot be used: which, and its line."),
                "503": error("Too many reports are running: try again."),
            ],
        ]
    }

    static func parameter(_ p: ReportAPI.Parameter) -> [String: Any] {
        var schema: [String: Any] = ["type": p.kind.rawValue]
        if let values = p.values { schema["enum"] = values }
        if let d = p.defaultValue {
            switch p.kind {
            case .string: schema["default"] = d
            case .integer: schema["default"] = Int(d) ?? 0
            case .number: schema["default"] = Double(d) ?? 0
            case .boolean: schema["default"] = d == "true"
            }
        }
        var result: [String: Any] = ["name": p.name, "in": "query", "required": p.required, "description": p.description]
        if p.repeatable {
            result["schema"] = ["type": "array", "items": schema]
            result["style"] = "form"
            result["explode"] = true
        } else {
            result["schema"] = schema
        }
        return result
    }

    static func error(_ description: String) -> [String: Any] {
        ["description": description, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
    }
}
