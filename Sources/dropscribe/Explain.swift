import ArgumentParser
import DropscribeCore
import Foundation
import HotFolder
import SystemPackage

/// `dropscribe explain PATH`: which folder rule applies to a path, and the settings that result.
struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show which [[rule]] applies to a file and the settings a job there runs with.",
        discussion: """
            PATH is a file in the inbox (absolute, or relative to the current folder), or a path \
            relative to the inbox; the file need not exist. Rules are tried in the config's order \
            and the first whose match fits wins.
            """)

    @Argument(help: ArgumentHelp("The file to explain.", valueName: "path"))
    var path: String

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        try await reporting {
            let config = try options.load()
            let layout: InboxLayout
            do { layout = try config.layout() } catch { throw CommandFailure.config("\(error)") }
            let explanation = RuleExplanation(configuration: config, relativePath: relativePath(in: layout), ignore: layout.rules)
            print(explanation.render())
        }
    }

    /// The inbox-relative path: a path inside the inbox is made relative, anything else is taken as relative already.
    func relativePath(in layout: InboxLayout) -> String {
        let absolute = FileManager.default.currentDirectoryPath.appendingPath(path)
        let folder = (absolute as NSString).deletingLastPathComponent
        let real = (realpath(folder, nil).map { p in defer { free(p) }; return String(cString: p) } ?? folder)
            + "/" + (absolute as NSString).lastPathComponent
        let root = layout.root.string.hasSuffix("/") ? layout.root.string : layout.root.string + "/"
        if real.hasPrefix(root) { return String(real.dropFirst(root.count)) }
        return path.split(separator: "/").joined(separator: "/")
    }
}
