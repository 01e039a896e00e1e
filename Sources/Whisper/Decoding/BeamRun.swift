/// One beam search (CTranslate2's bookkeeping, docs/engine.md §6.5) advanced one decoder
/// step at a time by its caller.
///
/// Exists so a batch of windows can share every decoder step — one product over all
/// windows' hypotheses — while each window keeps its own beams, candidates and finished
/// list; the single-window search drives the same machine, so both decide identically.
struct BeamRun {
    let maxNew: Int
    let beam: Int
    let eot: Int
    let maxCandidates: Int
    let numCandidates: Int
    /// The tokens of each alive hypothesis (without the prompt).
    private(set) var alive: [[Int]] = [[]]
    private(set) var scores: [Float] = [0]
    /// The token each alive hypothesis feeds at the next step.
    private(set) var inputs: [Int]
    private(set) var finished: [Hypothesis] = []
    /// The step the next rows belong to.
    private(set) var step = 0
    private(set) var isDone = false

    init(first: Int, maxNew: Int, beam: Int, patience: Float, eot: Int) {
        self.maxNew = maxNew
        self.beam = beam
        self.eot = eot
        maxCandidates = Int((Float(beam) * patience).rounded())
        numCandidates = beam == 1 ? 1 : 2 * beam
        inputs = [first]
        isDone = maxNew <= 0
    }

    /// Consumes this step's raw logits (one row per alive hypothesis). Returns the origin of
    /// each next hypothesis (for reordering the decoder's cache), or nil when the search is done.
    mutating func consume(_ rows: consuming [[Float]], process: SearchAlgorithms.Process) -> [Int]? {
        let isLast = step + 1 == maxNew
        let top = SearchAlgorithms.bestCandidates(rows, step: step, alive: alive, scores: scores, k: numCandidates,
                                                  process: process)
        step += 1
        if beam == 1 {
            let best = top[0]
            let tokens = alive[best.hypothesis]
            if best.token == eot || isLast {
                finished.append(Hypothesis(tokens: best.token == eot ? tokens : tokens + [best.token], logprobSum: best.score))
                isDone = true
                return nil
            }
            alive = [tokens + [best.token]]
            scores = [best.score]
            inputs = [best.token]
            return [0]
        }
        var nextAlive: [[Int]] = [], nextScores: [Float] = [], origins: [Int] = [], nextInputs: [Int] = []
        var secondary = beam
        for k in 0..<beam {
            var chosen = k
            let candidate = top[k]
            if candidate.token == eot || isLast {
                let tokens = alive[candidate.hypothesis]
                finished.append(Hypothesis(tokens: candidate.token == eot ? tokens : tokens + [candidate.token],
                                           logprobSum: candidate.score))
                var j = secondary
                while j < top.count {
                    if top[j].token != eot { chosen = j; secondary = j + 1; break }
                    j += 1
                }
            }
            let next = top[chosen]
            nextAlive.append(alive[next.hypothesis] + [next.token])
            nextScores.append(next.score)
            origins.append(next.hypothesis)
            nextInputs.append(next.token)
        }
        if isLast || finished.count >= maxCandidates {
            isDone = true
            return nil
        }
        alive = nextAlive
        scores = nextScores
        inputs = nextInputs
        return origins
    }
}
