/// Publisher-confirm bookkeeping for one channel incarnation.
///
/// In confirm mode the broker numbers publishes 1, 2, 3, ... per channel and
/// acks or nacks them, one by one or "everything up to N" (`multiple`), not
/// necessarily in order. Items live in an array indexed by sequence number,
/// so each confirm is O(1) amortised however many publishes are in flight.
struct ConfirmTracker<Item> {
    private var slots: [Item?] = []
    /// Sequence number of `slots[0]`.
    private var base: UInt64 = 1
    /// Index of the first slot that may still be occupied.
    private var head = 0
    private(set) var nextSequence: UInt64 = 1
    private(set) var outstanding = 0

    /// Registers the next publish and returns its sequence number.
    mutating func add(_ item: Item) -> UInt64 {
        slots.append(item)
        outstanding += 1
        defer { nextSequence += 1 }
        return nextSequence
    }

    /// Updates a still-unconfirmed item in place (e.g. to note that it was returned).
    mutating func update(_ sequence: UInt64, _ body: (inout Item) -> Void) {
        guard let i = index(of: sequence), slots[i] != nil else { return }
        body(&slots[i]!)
    }

    /// Removes and returns the items that an ack/nack with this tag settles.
    mutating func settle(tag: UInt64, multiple: Bool) -> [Item] {
        var settled: [Item] = []
        if multiple {
            while head < slots.count, base + UInt64(head) <= tag {
                if let item = slots[head] { settled.append(item); slots[head] = nil; outstanding -= 1 }
                head += 1
            }
        } else if let i = index(of: tag), let item = slots[i] {
            settled.append(item)
            slots[i] = nil
            outstanding -= 1
        }
        advanceHead()
        return settled
    }

    /// Removes every unconfirmed item, oldest first, and starts numbering at 1
    /// again (a new channel incarnation).
    mutating func removeAll() -> [Item] {
        let items = slots[head...].compactMap { $0 }
        self = ConfirmTracker()
        return items
    }

    private func index(of sequence: UInt64) -> Int? {
        guard sequence >= base + UInt64(head), sequence < nextSequence else { return nil }
        return Int(sequence - base)
    }

    private mutating func advanceHead() {
        while head < slots.count, slots[head] == nil { head += 1 }
        // Compact now and then so the array does not grow without bound.
        if head > 4096, head * 2 > slots.count {
            slots.removeFirst(head)
            base += UInt64(head)
            head = 0
        }
    }
}
