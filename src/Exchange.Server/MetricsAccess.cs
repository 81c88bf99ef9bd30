using System.Net;

namespace Exchange.Server;

/// <summary>
/// Who may scrape /metrics (METRICS_ALLOWED_FROM). Its numbers (the house's PnL, the insurance
/// fund, order flow) are the operator's, so by default only this machine gets them. The check
/// sees the address of the last hop: behind a proxy or load balancer that is the proxy's, unless
/// forwarded headers are on.
/// </summary>
public static class MetricsAccess
{
    public const string Variable = "METRICS_ALLOWED_FROM";

    private static readonly IPNetwork[] Local = [IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("::1/128")];

    private static readonly IPNetwork[] PrivateNetworks =
        [.. Local, .. new[] { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fe80::/10" }.Select(n => IPNetwork.Parse(n))];

    /// <summary>
    /// A comma-separated list of <c>local</c>, <c>private</c>, networks (<c>10.0.0.0/8</c>) and
    /// addresses, or <c>any</c> (null: everyone). Unset is <c>local</c>.
    /// </summary>
    public static IReadOnlyList<IPNetwork>? Parse(string? value)
    {
        var entries = (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (entries.Length == 0) return Local;
        if (entries is ["any"]) return null;
        var networks = new List<IPNetwork>();
        foreach (var entry in entries)
        {
            if (entry == "local") networks.AddRange(Local);
            else if (entry == "private") networks.AddRange(PrivateNetworks);
            else if (IPNetwork.TryParse(entry, out var network)) networks.Add(network);
            else if (IPAddress.TryParse(entry, out var address))
            {
                if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4(); // as clients are compared
                networks.Add(new IPNetwork(address, address.GetAddressBytes().Length * 8));
            }
            else throw new InvalidConfigurationException(
                $"{Variable}={value} is invalid: expected any, or a comma-separated list of local, private, networks (10.0.0.0/8, no host bits) and addresses.");
        }
        return networks;
    }

    /// <summary>A request without an IP peer (the in-process test host, a Unix socket) is local.</summary>
    public static bool Allows(IReadOnlyList<IPNetwork>? networks, IPAddress? client)
    {
        if (networks is null || client is null) return true;
        if (client.IsIPv4MappedToIPv6) client = client.MapToIPv4();
        foreach (var network in networks)
            if (network.Contains(client)) return true;
        return false;
    }
}
