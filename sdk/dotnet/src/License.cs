using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace Tollgate
{
    /// <summary>
    /// Verifies a license token's signature: <c>(token, pinnedJwksJson) =&gt; claims</c>, throwing a
    /// TollgateException (LicenseInvalidException, …) when it does not verify. netstandard2.0's BCL
    /// has no Ed25519, so the SDK does not verify signatures itself: plug in a JOSE library here
    /// (e.g. NSec or BouncyCastle's Ed25519Signer over <c>header.payload</c>).
    /// </summary>
    public delegate IDictionary<string, object> LicenseVerifier(string token, string pinnedJwks);

    internal static class License
    {
        public const string Type = "tollgate-license+jwt";

        /// <summary>
        /// What can be checked without Ed25519: a compact JWS, alg EdDSA, Tollgate's type, issuer and
        /// audience, signed by a key id this build pins. Not a signature check: the companion verified
        /// the signature (its verdict is in the license view), and a verifier can be plugged in.
        /// </summary>
        public static IDictionary<string, object> Inspect(string token, string pinnedJwks)
        {
            var keys = Wire.Get(Json.Parse(pinnedJwks), "keys") as List<object>;
            if (keys == null || keys.Count == 0)
                throw new LicenseInvalidException("No vendor keys are pinned in this build: the license cannot be verified.");
            var parts = token.Split('.');
            if (parts.Length != 3) throw Invalid("not a compact JWS");
            object header, claims;
            try
            {
                header = Json.Parse(Encoding.UTF8.GetString(Base64Url(parts[0])));
                claims = Json.Parse(Encoding.UTF8.GetString(Base64Url(parts[1])));
            }
            catch (FormatException)
            {
                throw Invalid("damaged");
            }
            if (Wire.Get(header, "alg") as string != "EdDSA") throw Invalid("algorithm not EdDSA");
            if (Wire.Get(header, "typ") as string != Type) throw Invalid("unexpected type");
            var kid = Wire.Get(header, "kid") as string;
            var pinned = keys.Any(key => Wire.Get(key, "crv") as string == "Ed25519" && (kid == null || Wire.Get(key, "kid") as string == kid));
            if (!pinned) throw Invalid("signed with a key this build does not pin");
            var map = claims as IDictionary<string, object>;
            if (map == null || Wire.Get(map, "iss") as string != "tollgate" || Wire.Get(map, "aud") as string != "tollgate-companion")
                throw Invalid("issuer or audience");
            return map;
        }

        private static TollgateException Invalid(string why)
        {
            return new LicenseInvalidException("The license does not match the vendor's keys (" + why + ").");
        }

        private static byte[] Base64Url(string segment)
        {
            var text = segment.Replace('-', '+').Replace('_', '/');
            switch (text.Length % 4)
            {
                case 2: text += "=="; break;
                case 3: text += "="; break;
            }
            return Convert.FromBase64String(text);
        }
    }
}
