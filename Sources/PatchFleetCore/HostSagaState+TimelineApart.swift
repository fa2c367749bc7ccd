/// For a store that keeps a saga's timeline in rows of its own, one per
/// entry, so that a step writes the entries it added instead of the whole
/// history again with the rest of the state (the timeline is half of a
/// finished saga's JSON at 20 VMs a host; see docs/store.md).
extension HostSagaState {
    /// This state with its timeline emptied: still `[]` (recorded, the rows
    /// hold it) where it was recorded, still nil where it was not.
    public var timelineEmptied: HostSagaState {
        guard timeline?.isEmpty == false else { return self }
        var bare = self
        bare.timeline = []
        return bare
    }

    /// The state read back, with the entries the store kept apart.
    public func withTimeline(_ entries: [SagaTimelineEntry]) -> HostSagaState {
        var whole = self
        whole.timeline = entries
        return whole
    }
}
