using System.Threading.Tasks.Sources;

namespace Exchange.Server.Push;

/// <summary>
/// An auto-reset event for one waiting loop: any number of <see cref="Set"/> calls between two
/// waits wake it once. No allocation, lock, timer or cancellation registration per wait (a
/// <see cref="SemaphoreSlim"/>.WaitAsync with a timeout and a token costs all of those, and a
/// price tick wakes every connection). Continuations run on the thread pool, never on the caller
/// of <see cref="Set"/>.
/// </summary>
internal sealed class WakeSignal : IValueTaskSource
{
    private const int Idle = 0, Signalled = 1, Waiting = 2;

    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private int _state;

    public void Set()
    {
        while (true)
        {
            switch (Volatile.Read(ref _state))
            {
                case Signalled:
                    return;
                case Idle:
                    if (Interlocked.CompareExchange(ref _state, Signalled, Idle) == Idle) return;
                    break;
                default:
                    if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
                    {
                        _core.SetResult(true);
                        return;
                    }
                    break;
            }
        }
    }

    /// <summary>Completes at the next <see cref="Set"/>, or at once if one came since the last wait. One waiter at a time.</summary>
    public ValueTask WaitAsync()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Signalled) == Signalled) return ValueTask.CompletedTask;
        _core.Reset();
        if (Interlocked.CompareExchange(ref _state, Waiting, Idle) == Idle) return new ValueTask(this, _core.Version);
        // A Set came in between (the state is Signalled, and only this waiter leaves that state): take it.
        Volatile.Write(ref _state, Idle);
        return ValueTask.CompletedTask;
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
