using System.Globalization;

namespace Exchange.TestSupport;

/// <summary>This process's threads as Linux shows them in /proc (linked into the test projects that need it).</summary>
internal static class ProcThreads
{
    /// <summary>The threads of the given names, with one of their /proc files.</summary>
    public static List<(string Name, string Content)> Named(string[] names, string file) =>
        [.. Directory.GetDirectories("/proc/self/task")
            .Select(task => (Name: ReadOrNull(Path.Combine(task, "comm"))?.Trim(), Content: ReadOrNull(Path.Combine(task, file))))
            .Where(t => t.Name is not null && names.Contains(t.Name) && t.Content is not null)
            .Select(t => (t.Name!, t.Content!))];

    /// <summary>Field 19 of <c>stat</c>; the name before it may hold spaces, so fields are counted from its closing parenthesis.</summary>
    public static int Nice(string stat) => int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], CultureInfo.InvariantCulture);

    // Threads of other tests come and go meanwhile: one that ended between listing and reading is skipped.
    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException) // ENOENT or ESRCH
        {
            return null;
        }
    }
}
