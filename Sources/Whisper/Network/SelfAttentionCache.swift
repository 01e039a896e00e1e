/// The decoder's self-attention K/V cache for a batch of hypotheses.
///
/// Exists so each decoding step costs one token per hypothesis, and so beam
/// search can reorder the cache by beam origin.
///
/// Hypothesis b's history lives in stored row `slots[b]`. Beam search reorders at
/// every step, and copying every history then took about 1.5 ms a step (a tenth
/// of a tiny.en beam-5 step), mostly to copy rows onto themselves: now a
/// hypothesis takes over its origin's row, and only a second hypothesis from the
/// same origin gets a copy.
///
/// A stored row is head-major: head h's keys for positions 0, 1, … are contiguous
/// (`headDim` floats each), so a step's attention streams each head's history in order.
/// Laid out position-major (d floats a position), one head's 256 bytes came every d
/// floats (5 KB apart for large-v3-turbo), and reading the history took a sixteenth of
/// a large-v3-turbo int8 run.
struct SelfAttentionCache {
    /// Positions a stored row starts with room for, and grows by as tokens are added
    /// (steps, not doubling: a 30-s piece's 150 tokens need 192 positions, not 256).
    static let growthStep = 64
    /// Most positions a hypothesis can hold (the model's text context, or the caller's bound).
    let limit: Int
    /// Positions each stored row has room for now. It grows with the tokens decoded
    /// (`reserve`) rather than starting at `limit`: eight pieces of five beams each at
    /// tiny.en's 448 positions held 220 MB of zeros, most of it never written.
    private(set) var capacity: Int
    let d: Int
    let heads: Int
    private(set) var batch: Int
    private(set) var length = 0
    /// Per layer: stored rows of `capacity × d` floats each, head by head.
    var keys: [[Float]]
    var values: [[Float]]
    /// The stored row of each hypothesis.
    private(set) var slots: [Int]

    init(layers: Int, batch: Int, capacity limit: Int, d: Int, heads: Int) {
        precondition(heads > 0 && d % heads == 0, "d \(d) is not a whole number of \(heads) heads")
        self.limit = limit
        capacity = min(limit, Self.growthStep)
        self.d = d
        self.heads = heads
        self.batch = batch
        keys = Array(repeating: [Float](repeating: 0, count: batch * capacity * d), count: layers)
        values = keys
        slots = Array(0..<batch)
    }

    var headDim: Int { d / heads }
    /// Floats from one stored row to the next.
    var rowStride: Int { capacity * d }
    /// Floats from one head's history to the next within a stored row.
    var headStride: Int { capacity * headDim }

    /// Where feature i (of d) at `position` of stored row `slot` lies in a layer's keys or values.
    func index(slot: Int, position: Int, feature i: Int) -> Int {
        slot * rowStride + (i / headDim) * headStride + position * headDim + i % headDim
    }

    /// Room for `positions` positions in every stored row, their contents kept.
    mutating func reserve(_ positions: Int) {
        precondition(positions <= limit, "decoder context exceeded")
        guard positions > capacity else { return }
        var grown = capacity
        while grown < positions { grown = min(limit, grown + Self.growthStep) }
        let (oldStride, newStride) = (capacity * d, grown * d)
        let (oldHead, newHead, used) = (capacity * headDim, grown * headDim, length * headDim)
        let storedRows = oldStride > 0 ? (keys.first?.count ?? 0) / oldStride : 0
        func widened(_ rows: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: storedRows * newStride)
            rows.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for r in 0..<storedRows where used > 0 {
                        for h in 0..<heads {
                            (dst.baseAddress! + r * newStride + h * newHead)
                                .update(from: src.baseAddress! + r * oldStride + h * oldHead, count: used)
                        }
                    }
                }
            }
            return out
        }
        for l in keys.indices {
            keys[l] = widened(keys[l])
            values[l] = widened(values[l])
        }
        capacity = grown
    }

    /// New batch where hypothesis i continues hypothesis origins[i].
    mutating func reorder(_ origins: [Int]) {
        let used = length * headDim, stride = rowStride, head = headStride
        var storedRows = (keys.first?.count ?? 0) / stride
        if storedRows < origins.count {
            let extra = [Float](repeating: 0, count: (origins.count - storedRows) * stride)
            for l in keys.indices { keys[l] += extra; values[l] += extra }
            storedRows = origins.count
        }
        // First claim of an origin's row takes it over; later claims get a free row.
        var claimed = Set<Int>()
        var next = [Int](repeating: -1, count: origins.count)
        for (i, o) in origins.enumerated() where claimed.insert(slots[o]).inserted { next[i] = slots[o] }
        var free = (0..<storedRows).filter { !claimed.contains($0) }
        var copies: [(from: Int, to: Int)] = []
        for (i, o) in origins.enumerated() where next[i] < 0 {
            next[i] = free.removeFirst()
            copies.append((slots[o], next[i]))
        }
        if used > 0 && !copies.isEmpty {
            for l in keys.indices {
                keys[l].withUnsafeMutableBufferPointer { k in
                    values[l].withUnsafeMutableBufferPointer { v in
                        for (from, to) in copies {
                            for h in 0..<heads {
                                let (dst, src) = (to * stride + h * head, from * stride + h * head)
                                (k.baseAddress! + dst).update(from: k.baseAddress! + src, count: used)
                                (v.baseAddress! + dst).update(from: v.baseAddress! + src, count: used)
                            }
                        }
                    }
                }
            }
        }
        slots = next
        batch = origins.count
    }

    /// Where each hypothesis' history starts in a layer's keys or values (its stored row).
    var historyOffsets: [Int] { slots.map { $0 * rowStride } }

    /// Stores layer `layer`'s keys and values for `count` new positions (from `length`) of
    /// every hypothesis, taken from a QKV product's rows: `batch × count` rows of 3d floats
    /// (query, key, value), hypothesis by hypothesis. `reserve` first, `advance` after the
    /// last layer.
    mutating func append(layer: Int, qkv: UnsafePointer<Float>, count: Int) {
        precondition(length + count <= capacity, "append beyond the reserved positions")
        let (d, dh, heads) = (self.d, headDim, self.heads)
        // Row r of the product (hypothesis r / count, position length + r % count), head h.
        let destinations = (0..<batch * count).flatMap { r in
            (0..<heads).map { h in index(slot: slots[r / count], position: length + r % count, feature: h * dh) }
        }
        keys[layer].withUnsafeMutableBufferPointer { k in
            values[layer].withUnsafeMutableBufferPointer { v in
                for (i, dst) in destinations.enumerated() {
                    let (r, h) = i.quotientAndRemainder(dividingBy: heads)
                    let src = qkv + r * 3 * d + h * dh
                    (k.baseAddress! + dst).update(from: src + d, count: dh)
                    (v.baseAddress! + dst).update(from: src + 2 * d, count: dh)
                }
            }
        }
    }

    mutating func advance(_ n: Int) { length += n }
}
