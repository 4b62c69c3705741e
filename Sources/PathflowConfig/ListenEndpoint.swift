import NetCore

/// A TCP/UDP listen address written `HOST:PORT` or `[IPv6]:PORT`.
public struct ListenEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Nil unless the text is `HOST:PORT` with a port in 1...65535; an IPv6 host needs brackets
    /// so the port cannot be mistaken for its last group.
    public init?(parsing text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"),
                  text[text.index(after: close)...].hasPrefix(":")
            else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            guard host.contains(":"), IPAddress(String(host)) != nil else { return nil }
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            guard !host.isEmpty, !host.contains(":"), !host.contains(where: ASCIIText.isSpace) else { return nil }
            portText = text[text.index(after: colon)...]
        }
        guard let port = ASCIIText.decimal(portText), (1...65535).contains(port) else { return nil }
        self.init(host: String(host), port: port)
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
