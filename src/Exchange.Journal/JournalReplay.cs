using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Exchange.Engine;

namespace Exchange.Journal;

/// <summary>
/// Replays the journal after the engine's last sequence into the engine. Reading, checking
/// and decoding records runs on another thread, a few batches ahead of the engine, so a long
/// replay costs little more than applying the inputs. Inputs are applied strictly in order;
/// if the journal turns out bad (or its reader fails), everything before the bad record is
/// applied and then the error is thrown, as a single-threaded loop would.
/// </summary>
internal static class JournalReplay
{
    private const int BatchSize = 1024;
    private const int BatchesAhead = 4;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long Run(TradingEngine engine, FileJournal journal, IEngineEventListener? listener)
    {
        var after = engine.LastSequence;
        using var full = new BlockingCollection<Batch>(BatchesAhead);
        using var empty = new BlockingCollection<EngineInput[]>(BatchesAhead + 2);
        for (var i = 0; i < BatchesAhead + 2; i++) empty.Add(new EngineInput[BatchSize]);
        using var stop = new CancellationTokenSource();
        Exception? readFailure = null;

        var reader = Task.Run([MethodImpl(MethodImplOptions.AggressiveOptimization)] () =>
        {
            try
            {
                var items = empty.Take(stop.Token);
                var count = 0;
                var expected = after + 1;
                foreach (var record in journal.ReadAfter(after))
                {
                    // Every input takes the next sequence: a gap is inputs lost, not skipped.
                    if (record.Sequence != expected)
                        throw new JournalGapException(expected - 1, record.Sequence);
                    expected++;
                    var input = InputCodec.Decode(record.Payload.Span);
                    if (input.Sequence != record.Sequence)
                        throw new InvalidDataException($"Journal record {record.Sequence} holds input {input.Sequence}.");
                    items[count++] = input;
                    if (count < BatchSize) continue;
                    full.Add(new Batch(items, count), stop.Token);
                    items = empty.Take(stop.Token);
                    count = 0;
                }
                if (count > 0) full.Add(new Batch(items, count), stop.Token);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The engine side failed and stopped reading.
            }
            catch (Exception e)
            {
                readFailure = e;
            }
            finally
            {
                full.CompleteAdding();
            }
        });

        long replayed = 0;
        var collect = listener is null ? null : new CollectingSink();
        var answered = new List<AnsweredCommand>();
        var commandsHeld = listener?.RecordedCommandSequence ?? long.MaxValue;
        try
        {
            foreach (var batch in full.GetConsumingEnumerable())
            {
                for (var i = 0; i < batch.Count; i++)
                {
                    ref readonly var input = ref batch.Items[i];
                    if (collect is null)
                    {
                        engine.Apply(in input, DiscardingSink.Instance);
                    }
                    else
                    {
                        collect.Reset();
                        engine.Apply(in input, collect);
                        if (collect.HasReply && input.OrderId != Guid.Empty && input.Sequence > commandsHeld)
                            answered.Add(new AnsweredCommand(input, collect.Reply));
                        if (collect.Events is not null) listener!.OnEvents(collect.Events, replayed: true);
                    }
                    replayed++;
                }
                if (answered.Count > 0)
                {
                    listener!.OnCommands(answered, replayed: true);
                    answered.Clear();
                }
                Array.Clear(batch.Items, 0, batch.Count); // drop the symbols' references
                empty.Add(batch.Items);
            }
        }
        catch
        {
            stop.Cancel();
            reader.Wait();
            throw;
        }
        reader.Wait();
        if (readFailure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(readFailure);
        return replayed;
    }

    private readonly record struct Batch(EngineInput[] Items, int Count);
}
