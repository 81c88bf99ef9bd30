namespace Exchange.Feed;

/// <summary>
/// Counters since the feed started. <see cref="Emitted"/> includes <see cref="Resent"/>;
/// <see cref="Rejected"/> are crossed, locked, non-positive or absurd (above <c>Price.MaxQuote</c>) quotes; <see cref="Ignored"/> are
/// quotes for assets not selected.
/// </summary>
public readonly record struct FeedStats(
    long Received, long Emitted, long Resent, long Rejected, long Ignored, long SourceFailures);
