import AsyncHTTPClient
import Foundation
import NIOCore

/// ClickHouse's HTTP interface: statements as the request body, inserts as `?query=INSERT …`
/// with the rows as the body. Each request has a deadline; the server's exceptions come back
/// as errors with its message.
public struct ClickHouseClient: Sendable {
    public enum Error: Swift.Error, CustomStringConvertible {
        /// The server answered with an exception.
        case server(status: UInt, message: String)
        /// No answer: refused, reset or past the deadline. Whether the server ran the statement
        /// is unknown.
        case transport(url: String, reason: String)

        public var description: String {
            switch self {
            case .server(let status, let message): "ClickHouse answered \(status): \(message.prefix(500))"
            case .transport(let url, let reason): "ClickHouse \(url): \(reason)"
            }
        }
    }

    /// The server's HTTP URL, e.g. http://127.0.0.1:8123.
    public var url: String
    public var user: String?
    public var password: String?
    public var timeout: TimeAmount

    public init(url: String, user: String? = nil, password: String? = nil, timeout: TimeAmount = .seconds(30)) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.user = user
        self.password = password
        self.timeout = timeout
    }

    public init(url: String, user: String? = nil, password: String? = nil, timeoutSeconds: Int) {
        self.init(url: url, user: user, password: password, timeout: .seconds(Int64(timeoutSeconds)))
    }

    /// `clickhouse_credentials_file`: a first line `user:password`.
    public static func credentials(file: String) throws -> (user: String, password: String) {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8),
              let line = text.split(separator: "\n").first, let colon = line.firstIndex(of: ":") else {
            throw Error.transport(url: file, reason: "cannot read a first line 'user:password'")
        }
        return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Runs a statement; returns what the server printed (TabSeparated unless the statement
    /// says FORMAT).
    @discardableResult
    public func query(_ sql: String, queryID: String? = nil) async throws -> String {
        let bytes = try await send(parameters: queryID.map { ["query_id": $0] } ?? [:], body: Array(sql.utf8))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// An INSERT … FORMAT RowBinary with its rows; `queryID` names it on the server, so a second
    /// try while the first still runs is refused, and `system.processes` shows whether it does.
    public func insert(_ statement: String, body: [UInt8], queryID: String) async throws {
        _ = try await send(parameters: ["query": statement, "query_id": queryID], body: body)
    }

    /// `query` for callers outside async code (reports): waits on the request's future, so
    /// never call it on an event loop.
    public func queryBlocking(_ sql: String) throws -> String {
        try queryBlocking(sql) { String(decoding: $0, as: UTF8.self) }
    }

    /// `queryBlocking` with the answer's bytes as they arrived, for results too large to copy
    /// into a `String` first (a report's groups).
    public func queryBlocking<T>(_ sql: String, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        let target = try target([:])
        let response: HTTPClient.Response
        do {
            var request = try HTTPClient.Request(url: target, method: .POST)
            request.body = .bytes(Array(sql.utf8))
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            response = try HTTPClient.shared.execute(request: request, deadline: .now() + timeout).wait()
        } catch {
            throw Error.transport(url: url, reason: "\(error)")
        }
        let answer = response.body ?? ByteBuffer()
        guard response.status.code == 200 else { throw Error.server(status: response.status.code, message: String(buffer: answer)) }
        return try answer.withUnsafeReadableBytes(body)
    }

    /// The request URL with `parameters` in its query.
    func target(_ parameters: [String: String]) throws -> String {
        var components = URLComponents(string: url + "/")
        if !parameters.isEmpty {
            components?.queryItems = parameters.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        }
        guard let target = components?.string else { throw Error.transport(url: url, reason: "not a URL") }
        return target
    }

    /// HTTP basic authentication, when a user is set.
    var authorization: String? {
        user.map { "Basic " + Data("\($0):\(password ?? "")".utf8).base64EncodedString() }
    }

    func send(parameters: [String: String], body: [UInt8]) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: try target(parameters))
        request.method = .POST
        request.body = .bytes(ByteBuffer(bytes: body))
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let response: HTTPClientResponse
        let answer: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(request, timeout: timeout)
            answer = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw Error.transport(url: url, reason: "\(error)")
        }
        let bytes = Array(answer.readableBytesView)
        guard response.status.code == 200 else {
            throw Error.server(status: response.status.code, message: String(decoding: bytes, as: UTF8.self))
        }
        return bytes
    }
}
