using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace Tollgate
{
    /// <summary>
    /// License token verification, the same rules as the TypeScript SDK's (jose's jwtVerify with the
    /// companion's options): a compact JWS with alg EdDSA, signed by a pinned Ed25519 key named by its
    /// kid, of Tollgate's type, issuer and audience, with iat, nbf, exp and sub, and two minutes of
    /// clock tolerance.
    /// </summary>
    internal static class License
    {
        public const string Type = "tollgate-license+jwt";
        private const string Issuer = "tollgate";
        private const string Audience = "tollgate-companion";
        private const long ToleranceSeconds = 120;

        /// <summary>The token's claims, or LicenseInvalid, OfflineGraceExpired or ClockTampered.</summary>
        public static IDictionary<string, object> Verify(string token, string pinnedJwks, DateTimeOffset now)
        {
            var keys = Wire.Get(Json.Parse(pinnedJwks), "keys") as List<object>;
            if (keys == null || keys.Count == 0)
                throw new LicenseInvalidException("No vendor keys are pinned in this build: the license cannot be verified.");
            var parts = token.Split('.');
            if (parts.Length != 3) throw Invalid("not a compact JWS");
            IDictionary<string, object> header, claims;
            byte[] signature;
            try
            {
                header = Json.Parse(Encoding.UTF8.GetString(Base64Url(parts[0]))) as IDictionary<string, object>;
                claims = Json.Parse(Encoding.UTF8.GetString(Base64Url(parts[1]))) as IDictionary<string, object>;
                signature = Base64Url(parts[2]);
            }
            catch (FormatException)
            {
                throw Invalid("damaged");
            }
            if (header == null) throw Invalid("damaged");
            // The algorithm is pinned, never taken from the token: alg none or HS256 are refused here.
            if (Wire.Get(header, "alg") as string != "EdDSA") throw Invalid("algorithm not EdDSA");
            if (header.ContainsKey("crit")) throw Invalid("unsupported critical header");
            var kid = Wire.Get(header, "kid") as string;
            var key = keys.FirstOrDefault(candidate => kid != null && Wire.Get(candidate, "kid") as string == kid && IsEd25519VerificationKey(candidate));
            if (key == null) throw Invalid("signed with a key this build does not pin");
            byte[] publicKey;
            try
            {
                publicKey = Base64Url(Wire.Get(key, "x") as string ?? "");
            }
            catch (FormatException)
            {
                throw Invalid("pinned key damaged");
            }
            if (!Ed25519.Verify(publicKey, Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), signature)) throw Invalid("signature");
            if (claims == null) throw Invalid("claims");
            if (Wire.Get(header, "typ") as string != Type) throw Invalid("unexpected type");
            foreach (var claim in new[] { "iat", "nbf", "exp", "sub" })
            {
                if (!claims.ContainsKey(claim)) throw Invalid("missing " + claim);
            }
            if (Wire.Get(claims, "iss") as string != Issuer) throw Invalid("issuer");
            var audience = Wire.Get(claims, "aud");
            var audiences = audience as List<object>;
            if (audience as string != Audience && (audiences == null || !audiences.Contains(Audience))) throw Invalid("audience");
            Seconds(claims, "iat"); // must be a number, as jose requires; compared with nothing
            var notBefore = Seconds(claims, "nbf");
            var expires = Seconds(claims, "exp");
            var current = now.ToUnixTimeSeconds();
            // As jose in the TypeScript SDK: nbf is held against the clock, iat only for a maximum age,
            // which no SDK sets (the server signs nbf = iat).
            if (notBefore > current + ToleranceSeconds)
                throw new ClockTamperedException("The license was issued later than this computer's clock says it is now.");
            if (expires <= current - ToleranceSeconds)
                throw new OfflineGraceExpiredException("The offline grace of this license has ended.");
            return claims;
        }

        /// <summary>What jose's local JWKS accepts for an EdDSA token: an OKP Ed25519 key, for signatures.</summary>
        private static bool IsEd25519VerificationKey(object key)
        {
            var alg = Wire.Get(key, "alg") as string;
            var use = Wire.Get(key, "use") as string;
            return Wire.Get(key, "kty") as string == "OKP" && Wire.Get(key, "crv") as string == "Ed25519"
                && (alg == null || alg == "EdDSA") && (use == null || use == "sig");
        }

        private static double Seconds(IDictionary<string, object> claims, string claim)
        {
            var value = claims[claim];
            if (value is long) return (long)value;
            if (value is double) return (double)value;
            throw Invalid(claim + " is not a number");
        }

        private static TollgateException Invalid(string why)
        {
            return new LicenseInvalidException("The license does not verify against the vendor's keys (" + why + ").");
        }

        private static byte[] Base64Url(string segment)
        {
            // Base64url without padding only (RFC 7515 §2): '+', '/' or '=' mean a token was altered.
            if (segment.IndexOfAny(new[] { '+', '/', '=' }) >= 0) throw new FormatException("not base64url");
            var text = segment.Replace('-', '+').Replace('_', '/');
            switch (text.Length % 4)
            {
                case 2: text += "=="; break;
                case 3: text += "="; break;
                case 1: throw new FormatException("not base64url");
            }
            return Convert.FromBase64String(text);
        }
    }
}
