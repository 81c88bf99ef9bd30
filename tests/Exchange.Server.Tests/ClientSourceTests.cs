using System.Net;

namespace Exchange.Server.Tests;

public sealed class ClientSourceTests
{
    [Fact]
    public void Addresses_of_one_IPv6_network_share_one_allowance()
    {
        var a = ClientSource.Of(IPAddress.Parse("2001:db8:1:2:aaaa:bbbb:cccc:dddd"));
        var b = ClientSource.Of(IPAddress.Parse("2001:db8:1:2::1"));
        Assert.Equal("2001:db8:1:2::/64", a);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Neighbouring_IPv6_networks_are_counted_apart()
    {
        Assert.NotEqual(ClientSource.Of(IPAddress.Parse("2001:db8:1:2::1")), ClientSource.Of(IPAddress.Parse("2001:db8:1:3::1")));
    }

    [Fact]
    public void An_IPv4_client_is_its_own_address_also_when_it_arrives_mapped_to_IPv6()
    {
        Assert.Equal("203.0.113.7", ClientSource.Of(IPAddress.Parse("203.0.113.7")));
        Assert.Equal("203.0.113.7", ClientSource.Of(IPAddress.Parse("::ffff:203.0.113.7")));
        Assert.NotEqual(ClientSource.Of(IPAddress.Parse("203.0.113.7")), ClientSource.Of(IPAddress.Parse("203.0.113.8")));
    }

    [Fact]
    public void A_connection_without_an_address_is_one_source()
    {
        Assert.Equal("unknown", ClientSource.Of(null));
    }
}
