import Foundation

/// A file mapped read-only into the process, shared by every weight read in place.
///
/// Exists so model.bin is never copied whole: weights kept in the file's precision are
/// read through the mapping at each product, weights converted at load are read once and
/// their pages handed back (`release`), and the kernel, not the process, owns the bytes,
/// so a worker's memory is what it converted plus the pages it is using. The mapping
/// lives as long as the last weight that points into it. A model.bin replaced by
/// `models fetch` is renamed over, so the mapped (old) file stays intact; one truncated
/// in place would fault, as it would for any reader.
final class MappedFile: @unchecked Sendable {
    // @unchecked: the pages are mapped PROT_READ and never written; `release` only
    // drops pages the kernel reads again from the file when they are touched.
    let path: String
    let bytes: UnsafeRawBufferPointer

    init(path: String) throws(WhisperError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .unreadable(path: path, reason: "not a regular file") }
        let size = Int(st.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw .unreadable(path: path, reason: "mmap: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    /// Drops the pages holding `range` (byte offsets) from this process's memory; they
    /// are read from the file again if touched later. Pages shared with neighbouring
    /// bytes go too: reading them again is all that costs.
    func release(_ range: Range<Int>) {
        guard let base = bytes.baseAddress, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page
        let end = min(bytes.count, (range.upperBound + page - 1) / page * page)
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
