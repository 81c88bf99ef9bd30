using System.Net;
using System.Net.Sockets;

namespace Exchange.Server;

/// <summary>
/// Whom a per-client limit (sign-in attempts, open streams) counts for. An IPv4 client is its
/// address; an IPv6 client is its /64 network, because a single host is normally given a whole
/// /64 and could otherwise take a fresh address (and a fresh allowance) for every attempt.
/// </summary>
public static class ClientSource
{
    public static string Of(IPAddress? address)
    {
        if (address is null) return "unknown";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }
}
