using Exchange.Server.Auth;

namespace Exchange.Server.Tests;

/// <summary>In Development the JWT signing key is made once and kept in the data folder.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes
public sealed class DevelopmentSecretTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("exchange-secret-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string SecretPath => Path.Combine(_dir, "jwt-secret");

    [Fact]
    public void The_secret_is_made_once_readable_by_the_owner_only_and_reused()
    {
        var first = AuthTokens.LoadKey(null, isDevelopment: true, _dir);
        var again = AuthTokens.LoadKey(null, isDevelopment: true, _dir);

        Assert.Equal(64, first.Key.Length);
        Assert.Equal(first.Key, again.Key);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SecretPath));
        Assert.False(File.Exists(SecretPath + ".new"));
    }

    [Fact]
    public void A_secret_file_cut_short_is_refused_with_what_to_do()
    {
        File.WriteAllBytes(SecretPath, new byte[5]);

        var refused = Assert.Throws<InvalidConfigurationException>(() => AuthTokens.LoadKey(null, isDevelopment: true, _dir));

        Assert.Contains("holds 5 bytes", refused.Message);
        Assert.Contains("AUTH_JWT_SECRET", refused.Message);
    }

    [Fact]
    public void A_leftover_half_written_secret_does_not_keep_its_permissions()
    {
        File.WriteAllBytes(SecretPath + ".new", new byte[3]);
        File.SetUnixFileMode(SecretPath + ".new", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        AuthTokens.LoadKey(null, isDevelopment: true, _dir);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SecretPath));
    }

    [Fact]
    public void Outside_development_a_configured_secret_is_used_and_nothing_is_written()
    {
        var key = AuthTokens.LoadKey(ExchangeApp.JwtSecret, isDevelopment: false, _dir);

        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(ExchangeApp.JwtSecret), key.Key);
        Assert.False(File.Exists(SecretPath));
    }
}
