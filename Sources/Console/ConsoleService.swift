import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// The console as a service of `pathflow serve` or `pathflow collect`: it listens when it runs,
/// stops with the service group, and a listener it cannot open is a startup error that names the
/// setting.
extension ConsoleServer: Service {
    public struct StartupError: Error, CustomStringConvertible {
        public var description: String
    }

    public func run() async throws {
        let listening = NIOLockedValueBox(false)
        let (host, port) = (settings.host, settings.port)
        @Sendable func endpoint(_ port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
        let logger = self.logger
        let boundPort = self.boundPort
        let app = application { channel in
            listening.withLockedValue { $0 = true }
            boundPort.withLockedValue { $0 = channel.localAddress?.port }
            logger.info("console", metadata: ["listen": "\(endpoint(channel.localAddress?.port ?? port))", "path": "/api/v1/reports"])
        }
        do {
            try await app.run()
        } catch {
            guard listening.withLockedValue({ $0 }) else {
                throw StartupError(description: "cannot listen on TCP \(endpoint(port)) for \(settings.listenKey): \(error)")
            }
            throw error
        }
    }
}
