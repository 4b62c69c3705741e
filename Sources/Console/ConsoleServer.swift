import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Reports

/// `pathflow serve`: the console's HTTP server (Hummingbird) over a view's stored tables.
///
/// `GET /api/v1/reports/NAME?…` answers a report (see `ReportAPI`); `GET /api/v1/reports` lists
/// them; `GET /api/v1/view` describes the view; `GET /api/v1/openapi.json` describes the API
/// (OpenAPI 3.0). `GET /console/PAGE` serves the pages that draw
/// them (`ConsolePages`), `/assets/…` their script and style. With a token every API request
/// must carry `Authorization: Bearer TOKEN` (401 otherwise); pages and assets hold no data and
/// are served to anyone who can connect, and the page asks for the token.
/// Reports read SQLite or ClickHouse, which blocks: each runs on the thread pool, and at most
/// `maximumConcurrentReports` at once (503 past it), so a burst of requests cannot pile up work.
/// Connections are bounded as on the metrics endpoint (`Limits`), and what the console refuses
/// or closes is counted (`counters`; GET /metrics with `servesMetrics`).
public struct ConsoleServer: Sendable {
    public struct Settings: Sendable {
        public var host = "127.0.0.1"
        /// 9481 by default (9480 is the probe's metrics port).
        public var port = 9481
        /// What set the address, for a startup error: `console_listen` or `--listen`.
        public var listenKey = "console_listen"
        /// nil: no authentication (the default listens on loopback only).
        public var token: String?
        public var maximumConcurrentReports = 4
        /// The files and snapshot the configuration gives the reports.
        public var reports = ReportAPI.Setup()
        public var limits = Limits()
        /// Serve the console's own counters on GET /metrics (`pathflow serve`; inside the collector
        /// they are on its metrics endpoint).
        public var servesMetrics = false

        public init() {}
    }

    /// Bounds against clients that hold what they open, as on the metrics endpoint: at most
    /// `connections` connections (past it the oldest idle one is closed, and counted), and a
    /// connection idle for `idle` is closed.
    public struct Limits: Sendable {
        public var connections = 64
        public var idle: TimeAmount = .seconds(30)

        public init() {}
    }

    let settings: Settings
    /// Opens the view's table for one request (a fresh reader each time: the collector writes on).
    let source: @Sendable () throws -> ReportSource
    let logger: Logger
    let gate: ConnectionGate
    /// What the console refused and closed.
    public let counters: ConsoleCounters
    /// The port listened on, once listening (useful with port 0).
    public let boundPort = NIOLockedValueBox<Int?>(nil)

    public init(settings: Settings, logger: Logger, source: @escaping @Sendable () throws -> ReportSource) {
        self.settings = settings
        self.source = source
        self.logger = logger
        self.gate = ConnectionGate(limit: settings.limits.connections)
        self.counters = ConsoleCounters(gate: gate)
    }

    /// The router, without a listener: what tests drive.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        let counters = self.counters
        router.add(middleware: AnswerCounter(counters: counters))
        if let token = settings.token { router.add(middleware: BearerToken(token: token, counters: counters)) }
        if settings.servesMetrics {
            router.get("/metrics") { _, _ -> Response in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: .init(byteBuffer: ByteBuffer(string: counters.prometheus())))
            }
        }
        let gate = ReportGate(limit: settings.maximumConcurrentReports)
        let source = self.source, setup = settings.reports
        router.get("/") { _, _ -> Response in
            Response(status: .seeOther, headers: [.location: "/console/overview"])
        }
        router.get("/console/:page") { _, context -> Response in
            let page = context.parameters.get("page") ?? ""
            guard let html = ConsolePages.page(page) else {
                return Response(status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: "no page '\(page)': \(ConsolePages.names.joined(separator: ", "))\n")))
            }
            return Self.asset(html, type: "text/html; charset=utf-8")
        }
        router.get("/assets/console.js") { _, _ -> Response in Self.asset(ConsolePages.script, type: "text/javascript; charset=utf-8") }
        router.get("/assets/console.css") { _, _ -> Response in Self.asset(ConsolePages.style, type: "text/css; charset=utf-8") }
        router.get("/api/v1/view") { _, _ -> Response in
            do {
                let body = try await NIOThreadPool.singleton.runIfActive { ReportAPI.view(try source(), setup: setup) }
                return Self.json(.ok, body)
            } catch {
                return Self.json(.internalServerError, Self.error("\(error)"))
            }
        }
        router.get("/api/v1/reports") { _, _ -> Response in
            Self.json(.ok, "{\"reports\":[" + ReportAPI.reports.map { "\"\($0)\"" }.joined(separator: ",") + "]}")
        }
        let openAPI = ReportAPI.openAPI(authenticated: settings.token != nil)
        router.get("/api/v1/openapi.json") { _, _ -> Response in Self.json(.ok, openAPI) }
        router.get("/api/v1/reports/:name") { request, context -> Response in
            let name = context.parameters.get("name") ?? ""
            var parameters: ReportAPI.Parameters = [:]
            for (key, value) in request.uri.queryParameters {
                parameters[String(key).removingPercentEncoding ?? String(key), default: []]
                    .append(String(value).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(value))
            }
            let query = parameters
            guard gate.enter() else {
                counters.refusedReport()
                return Self.json(.serviceUnavailable, Self.error("too many reports running; try again"))
            }
            defer { gate.leave() }
            do {
                let now = Int(Date().timeIntervalSince1970)
                let (type, body) = try await NIOThreadPool.singleton.runIfActive {
                    try ReportAPI.answer(name, query, source: try source(), setup: setup, now: now)
                }
                return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: body)))
            } catch let failure as ReportAPI.Failure {
                return Self.json(HTTPResponse.Status(code: failure.status), Self.error(failure.description))
            } catch {
                return Self.json(.internalServerError, Self.error("\(error)"))
            }
        }
        return router
    }

    /// Serves until the service group stops it; `onServerRunning` gets the listening channel.
    public func application(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) -> some ApplicationProtocol {
        let gate = self.gate
        return Application(
            router: router(),
            server: .http1(configuration: .init(
                additionalChannelHandlers: [ConnectionGateHandler(gate: gate)], idleTimeout: settings.limits.idle)),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "pathflow"),
            onServerRunning: onServerRunning,
            logger: logger)
    }

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func error(_ message: String) -> String {
        "{\"error\":" + quoted(message) + "}"
    }

    /// A JSON string.
    static func quoted(_ text: String) -> String {
        "\"" + text.unicodeScalars.map { s -> String in
            switch s {
            case "\"": return "\\\""
            case "\\": return "\\\\"
            case _ where s.value < 0x20: return String(format: "\\u%04x", s.value)
            default: return String(s)
            }
        }.joined() + "\""
    }

    /// A page or asset shipped in the binary; they change with the binary only.
    static func asset(_ bytes: [UInt8], type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-cache"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Requests without `Authorization: Bearer TOKEN` get 401, but for the pages and their assets.
struct BearerToken<Context: RequestContext>: RouterMiddleware {
    let token: String
    let counters: ConsoleCounters

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if ConsolePages.isPublic(request.uri.path) { return try await next(request, context) }
        let given = request.headers[.authorization] ?? ""
        // Compared in constant time: every byte, whatever the first difference.
        let expected = Array("Bearer \(token)".utf8), actual = Array(given.utf8)
        var difference = UInt8(expected.count == actual.count ? 0 : 1)
        for i in 0..<min(expected.count, actual.count) { difference |= expected[i] ^ actual[i] }
        guard difference == 0 else {
            counters.unauthorizedRequest()
            return Response(
                status: .unauthorized, headers: [.wwwAuthenticate: "Bearer", .contentType: "application/json; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"a bearer token is required\"}")))
        }
        return try await next(request, context)
    }
}

/// At most `limit` reports at once.
final class ReportGate: Sendable {
    let limit: Int
    let running = NIOLockedValueBox(0)

    init(limit: Int) { self.limit = max(1, limit) }

    func enter() -> Bool {
        running.withLockedValue { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
    }

    func leave() { running.withLockedValue { $0 -= 1 } }
}

/// Counts every answer by its status, those of errors thrown on the way too.
struct AnswerCounter<Context: RequestContext>: RouterMiddleware {
    let counters: ConsoleCounters

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            counters.answered(status: response.status.code)
            return response
        } catch let error as any HTTPResponseError {
            counters.answered(status: error.status.code)
            throw error
        } catch {
            counters.answered(status: 500)
            throw error
        }
    }
}
