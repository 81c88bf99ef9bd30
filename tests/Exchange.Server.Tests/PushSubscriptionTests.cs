using Exchange.Engine;
using Exchange.Server.Api;
using Exchange.Server.Push;

namespace Exchange.Server.Tests;

/// <summary>Which connections a trader's events reach, while the trader's sockets come and go.</summary>
public sealed class PushSubscriptionTests
{
    [Fact]
    public async Task A_socket_opened_as_the_traders_last_one_closes_still_gets_the_traders_events()
    {
        var config = new EngineConfig();
        var hub = new PushHub(config, new PriceBoard(config), null!);
        var trader = Guid.NewGuid();
        var old = new PushConnection(null!, trader, hub);
        hub.Subscribe(trader, old);

        // A reloading tab: the old socket closes while the new one opens, both at once on the two cores.
        for (var round = 0; round < 20_000; round++)
        {
            var fresh = new PushConnection(null!, trader, hub);
            using var start = new Barrier(2);
            var closing = Task.Run(() =>
            {
                start.SignalAndWait();
                hub.Unsubscribe(trader, old);
            });
            var opening = Task.Run(() =>
            {
                start.SignalAndWait();
                hub.Subscribe(trader, fresh);
            });
            await Task.WhenAll(closing, opening);

            Assert.True(hub.Reaches(trader, fresh), $"round {round}: the new socket is in no set the trader's events go to");
            old = fresh;
        }
    }
}
