/// The console's pages: one HTML shell per page, a script that reads the page's state from its
/// URL, asks the API and draws, and a style sheet. All three are written for pathflow and built
/// into the binary (nothing is loaded from elsewhere at run time).
enum ConsolePages {
    /// The pages, in the order of the navigation bar.
    static let names = ["overview", "series", "matrix", "paths", "capacity", "failures", "prefixes"]

    static let script = PackageResources.console_js
    static let style = PackageResources.console_css

    /// The shell of page `name`, nil for a page the console does not have.
    static func page(_ name: String) -> [UInt8]? {
        guard names.contains(name) else { return nil }
        let shell = String(decoding: PackageResources.console_html, as: UTF8.self)
        return Array(shell.replacingOccurrences(of: "{{page}}", with: name).utf8)
    }

    /// Paths served without the token: they hold no data.
    static func isPublic(_ path: String) -> Bool {
        path == "/" || path.hasPrefix("/console/") || path.hasPrefix("/assets/")
    }
}
