import HotFolder
import Logging

/// A log handler that prints every message and metadata value with control
/// characters escaped, over swift-log's stream handler.
///
/// It exists because job names and marker strings come from the inbox: a file
/// named "a\nERROR ..." must not forge a log line of its own.
struct EscapingLogHandler: LogHandler {
    var inner: StreamLogHandler

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = "\(UntrustedText.printable(event.message.description, limit: 8192))"
        event.metadata = event.metadata?.mapValues(Self.escaped)
        inner.log(event: event)
    }

    static func escaped(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let s): .string(UntrustedText.printable(s, limit: 8192))
        case .stringConvertible(let c): .string(UntrustedText.printable(c.description, limit: 8192))
        case .array(let values): .array(values.map(escaped))
        case .dictionary(let d): .dictionary(d.mapValues(escaped))
        }
    }
}
