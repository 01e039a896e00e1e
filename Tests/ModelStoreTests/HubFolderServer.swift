import Foundation
import Synchronization

/// A loopback HTTP server that serves a folder laid out as the Hugging Face Hub's URLs.
///
/// Exists so the download code is tested offline against real HTTP: `Range` requests answered with
/// 206, a response cut off part-way (the connection closed after a set number of body bytes, as a
/// dropped network does), and a log of what was asked for, all over a real socket.
final class HubFolderServer: @unchecked Sendable {
    struct Request: Sendable, Equatable {
        let path: String
        let range: String?
    }

    let root: String
    private(set) var port: UInt16 = 0
    private let listener: Int32
    private let log = Mutex<[Request]>([])
    private let cuts = Mutex<[String: Int]>([:])

    init(root: String) throws {
        self.root = root
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(listener, sa, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, sa, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }
    var requests: [Request] { log.withLock { $0 } }

    /// The next response for `path` sends only `bytes` bytes of its body, then closes the connection.
    func cutOnce(path: String, after bytes: Int) { cuts.withLock { $0[path] = bytes } }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 { return }
            answer(connection)
            close(connection)
        }
    }

    private func answer(_ connection: Int32) {
        var head = [UInt8]()
        var byte: UInt8 = 0
        while head.count < 16384, recv(connection, &byte, 1, 0) == 1 {
            head.append(byte)
            if head.suffix(4) == [13, 10, 13, 10] { break }
        }
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines.first?.split(separator: " ") ?? []
        guard parts.count >= 2 else { return }
        let rawPath = String(parts[1].split(separator: "?", maxSplits: 1).first ?? "")
        let path = rawPath.removingPercentEncoding ?? rawPath
        let range = lines.dropFirst().first { $0.lowercased().hasPrefix("range:") }
            .map { String($0.dropFirst("range:".count)).trimmingCharacters(in: .whitespaces) }
        log.withLock { $0.append(Request(path: path, range: range)) }

        guard !path.contains(".."), let body = FileManager.default.contents(atPath: root + path) else {
            send(connection, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        }
        var start = 0
        if let range, range.hasPrefix("bytes="), range.hasSuffix("-"), let from = Int(range.dropFirst(6).dropLast()),
           from < body.count {
            start = from
        }
        let status = start > 0 ? "206 Partial Content" : "200 OK"
        var header = "HTTP/1.1 \(status)\r\nContent-Length: \(body.count - start)\r\nConnection: close\r\n"
        if start > 0 { header += "Content-Range: bytes \(start)-\(body.count - 1)/\(body.count)\r\n" }
        send(connection, header + "\r\n")
        let cut = cuts.withLock { $0.removeValue(forKey: path) }
        let end = cut.map { min(body.count, start + $0) } ?? body.count
        body.withUnsafeBytes { raw in
            var offset = start
            while offset < end {
                let n = Glibc.send(connection, raw.baseAddress! + offset, min(1 << 16, end - offset), Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                offset += n
            }
        }
    }

    private func send(_ connection: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
