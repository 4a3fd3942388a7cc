using System.Numerics;
using System.Security.Cryptography;

namespace Tollgate
{
    /// <summary>
    /// Ed25519 signature verification (RFC 8032 §5.1.7), and nothing else: netstandard2.0's BCL has
    /// no Ed25519 and this SDK takes no dependencies. A port of the RFC's reference code (§6) onto
    /// BigInteger, in extended coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, x·y = T/Z. It runs once
    /// per license token, so it is written to be checked against the RFC, not to be fast; it handles
    /// only public data, so timing does not matter either.
    /// </summary>
    internal static class Ed25519
    {
        private static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;
        /// <summary>The order of the base point, L in the RFC (q in its code).</summary>
        private static readonly BigInteger L = BigInteger.Pow(2, 252) + BigInteger.Parse("27742317777372353535851937790883648493");
        private static readonly BigInteger D = Mod(-121665 * Inverse(121666));
        private static readonly BigInteger SqrtMinusOne = BigInteger.ModPow(2, (P - 1) / 4, P);
        private static readonly BigInteger[] Identity = { 0, 1, 1, 0 };
        private static readonly BigInteger[] Base = BasePoint();

        /// <summary>True when <paramref name="signature"/> is <paramref name="publicKey"/>'s signature of <paramref name="message"/>.</summary>
        public static bool Verify(byte[] publicKey, byte[] message, byte[] signature)
        {
            if (publicKey == null || publicKey.Length != 32 || signature == null || signature.Length != 64) return false;
            var a = Decompress(publicKey, 0);
            // A key of small order (one of the eight points [8]A = O) verifies signatures of every
            // message for some R: no vendor key is one, so one arriving here is an attack.
            if (a == null || IsIdentity(Multiply(8, a))) return false;
            var r = Decompress(signature, 0);
            if (r == null) return false;
            var s = Integer(signature, 32, 32);
            // S ≥ L is the malleable (non-canonical) form of a valid S: refused, as §5.1.7 says.
            if (s >= L) return false;
            byte[] digest;
            using (var sha = SHA512.Create())
            {
                var input = new byte[64 + message.Length];
                System.Buffer.BlockCopy(signature, 0, input, 0, 32);
                System.Buffer.BlockCopy(publicKey, 0, input, 32, 32);
                System.Buffer.BlockCopy(message, 0, input, 64, message.Length);
                digest = sha.ComputeHash(input);
            }
            var h = Integer(digest, 0, 64) % L;
            // [S]B = R + [h]A, the unbatched check of the RFC's reference code.
            return AreEqual(Multiply(s, Base), Add(r, Multiply(h, a)));
        }

        private static BigInteger Mod(BigInteger value)
        {
            var rest = BigInteger.Remainder(value, P);
            return rest.Sign < 0 ? rest + P : rest;
        }

        private static BigInteger Inverse(BigInteger value)
        {
            return BigInteger.ModPow(Mod(value), P - 2, P);
        }

        /// <summary>An unsigned little-endian integer (BigInteger's byte[] constructor is signed, hence the 0 byte).</summary>
        private static BigInteger Integer(byte[] bytes, int offset, int count)
        {
            var unsigned = new byte[count + 1];
            System.Buffer.BlockCopy(bytes, offset, unsigned, 0, count);
            return new BigInteger(unsigned);
        }

        private static BigInteger[] Add(BigInteger[] p, BigInteger[] q)
        {
            var a = Mod((p[1] - p[0]) * (q[1] - q[0]));
            var b = Mod((p[1] + p[0]) * (q[1] + q[0]));
            var c = Mod(2 * p[3] * q[3] * D);
            var d = Mod(2 * p[2] * q[2]);
            BigInteger e = b - a, f = d - c, g = d + c, h = b + a;
            return new[] { Mod(e * f), Mod(g * h), Mod(f * g), Mod(e * h) };
        }

        private static BigInteger[] Multiply(BigInteger scalar, BigInteger[] point)
        {
            var result = Identity;
            while (scalar > 0)
            {
                if (!scalar.IsEven) result = Add(result, point);
                point = Add(point, point);
                scalar >>= 1;
            }
            return result;
        }

        private static bool AreEqual(BigInteger[] p, BigInteger[] q)
        {
            return Mod(p[0] * q[2] - q[0] * p[2]).IsZero && Mod(p[1] * q[2] - q[1] * p[2]).IsZero;
        }

        private static bool IsIdentity(BigInteger[] point)
        {
            return AreEqual(point, Identity);
        }

        /// <summary>x from y and x's sign bit (RFC 8032 §5.1.3), or null when there is none or y is not canonical.</summary>
        private static BigInteger? RecoverX(BigInteger y, int sign)
        {
            if (y >= P) return null;
            var x2 = Mod((y * y - 1) * Inverse(D * y * y + 1));
            if (x2.IsZero)
            {
                if (sign == 1) return null; // -0 is not a canonical encoding
                return BigInteger.Zero;
            }
            var x = BigInteger.ModPow(x2, (P + 3) / 8, P);
            if (!Mod(x * x - x2).IsZero) x = Mod(x * SqrtMinusOne);
            if (!Mod(x * x - x2).IsZero) return null;
            if ((int)(x & 1) != sign) x = P - x;
            return x;
        }

        private static BigInteger[] Decompress(byte[] bytes, int offset)
        {
            var y = Integer(bytes, offset, 32);
            var sign = (int)(y >> 255);
            y &= (BigInteger.One << 255) - 1;
            var x = RecoverX(y, sign);
            if (x == null) return null;
            return new[] { x.Value, y, 1, Mod(x.Value * y) };
        }

        private static BigInteger[] BasePoint()
        {
            var y = Mod(4 * Inverse(5));
            var x = RecoverX(y, 0).Value;
            return new[] { x, y, 1, Mod(x * y) };
        }
    }
}
