import ArgumentParser
import DropscribeCore
import Foundation

/// `dropscribe transcribe`: one-shot transcription of files named on the command line.
struct Transcribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Transcribe files given on the command line, writing the same outputs as the daemon.")

    @Argument(help: ArgumentHelp("Audio or video files.", valueName: "file"))
    var files: [String]

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        try await reporting {
            throw CommandFailure.usage("transcribe is not available yet")
        }
    }
}
