import DropscribeCore
import Logging

/// Builds the production transcriber from the configuration.
enum Transcribers {
    static func whisper(config: Configuration, logger: Logger) throws -> any Transcriber {
        throw CommandFailure.config("the Whisper transcriber is not wired in yet")
    }
}
