namespace Tollgate
{
    /// <summary>
    /// The vendor's pinned license keys: the public JWKS the billing server publishes at
    /// <c>/.well-known/jwks.json</c>, as JSON. A vendor build replaces this file with its own keys
    /// (generated from the vendor build configuration) or sets <see cref="TollgateClientOptions.Keys"/>.
    /// Empty here: with no keys, <c>LicenseAsync</c> refuses every token (LicenseInvalidException).
    /// </summary>
    public static class VendorKeys
    {
        public const string Jwks = "{\"keys\":[]}";
    }
}
