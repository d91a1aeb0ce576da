// Test speech and the measures the voice tests apply to it: espeak-ng speaks known sentences into a WAV in the
// build folder, which we resample to the codec's rate; log-spectral distance compares what a listener played with
// what the speaker said, after alignment.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

namespace eustress::net::testing {

inline constexpr const char* kSentences =
    "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. "
    "It is easy to tell the depth of a well. These days a chicken leg is a rare dish.";

struct Wav
{
    std::uint32_t rate = 0;
    std::vector<std::int16_t> samples;
};

/// Reads a 16-bit mono PCM WAV, walking its chunks (espeak-ng writes a plain one).
inline std::optional<Wav> read_wav(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto u32 = [&](std::size_t at) {
        return std::uint32_t(std::uint8_t(bytes[at])) | std::uint32_t(std::uint8_t(bytes[at + 1])) << 8 |
               std::uint32_t(std::uint8_t(bytes[at + 2])) << 16 | std::uint32_t(std::uint8_t(bytes[at + 3])) << 24;
    };
    if (bytes.size() < 12 || std::string(bytes.data(), 4) != "RIFF" || std::string(bytes.data() + 8, 4) != "WAVE")
        return std::nullopt;
    Wav wav;
    std::size_t at = 12;
    while (at + 8 <= bytes.size())
    {
        const std::string id(bytes.data() + at, 4);
        std::size_t size = u32(at + 4);
        at += 8;
        size = std::min(size, bytes.size() - at);
        if (id == "fmt " && size >= 16)
        {
            if (std::uint8_t(bytes[at + 2]) != 1 || std::uint8_t(bytes[at + 14]) != 16)
                return std::nullopt;  // not mono 16-bit
            wav.rate = u32(at + 4);
        }
        else if (id == "data")
        {
            wav.samples.resize(size / 2);
            for (std::size_t i = 0; i < wav.samples.size(); ++i)
                wav.samples[i] =
                    std::int16_t(std::uint8_t(bytes[at + 2 * i]) | std::uint8_t(bytes[at + 2 * i + 1]) << 8);
        }
        at += size + (size & 1);
    }
    if (wav.rate == 0)
        return std::nullopt;
    return wav;
}

inline void write_wav(const std::filesystem::path& path, std::uint32_t rate, const std::vector<std::int16_t>& samples)
{
    std::ofstream out(path, std::ios::binary);
    auto put32 = [&](std::uint32_t v) {
        out.put(char(v)).put(char(v >> 8)).put(char(v >> 16)).put(char(v >> 24));
    };
    auto put16 = [&](std::uint16_t v) {
        out.put(char(v)).put(char(v >> 8));
    };
    const std::uint32_t data = std::uint32_t(samples.size() * 2);
    out.write("RIFF", 4);
    put32(36 + data);
    out.write("WAVEfmt ", 8);
    put32(16);
    put16(1);
    put16(1);
    put32(rate);
    put32(rate * 2);
    put16(2);
    put16(16);
    out.write("data", 4);
    put32(data);
    for (const std::int16_t s : samples)
        put16(std::uint16_t(s));
}

/// Band-limited resampling: a Hann-windowed sinc, 32 zero crossings, cut at the lower Nyquist frequency.
inline std::vector<std::int16_t> resample(const std::vector<std::int16_t>& in, std::uint32_t from, std::uint32_t to)
{
    if (from == to)
        return in;
    const double ratio = double(to) / from;
    const double cutoff = std::min(1.0, ratio);  // of the input's Nyquist
    const int half = 32;
    const std::size_t count = std::size_t(double(in.size()) * ratio);
    std::vector<std::int16_t> out(count);
    for (std::size_t n = 0; n < count; ++n)
    {
        const double t = double(n) / ratio;
        const long centre = long(std::floor(t));
        double sum = 0;
        for (long k = centre - half + 1; k <= centre + half; ++k)
        {
            if (k < 0 || k >= long(in.size()))
                continue;
            const double x = t - double(k);
            const double arg = std::numbers::pi * x * cutoff;
            const double sinc = x == 0 ? 1.0 : std::sin(arg) / arg;
            const double window = 0.5 + 0.5 * std::cos(std::numbers::pi * x / half);
            sum += in[std::size_t(k)] * cutoff * sinc * window;
        }
        out[n] = std::int16_t(std::clamp(std::lround(sum), -32768L, 32767L));
    }
    return out;
}

/// espeak-ng's rendition of kSentences at `rate`, made once per build folder (the WAV stays for people to hear).
inline std::optional<std::vector<std::int16_t>> test_speech(const std::filesystem::path& folder, std::uint32_t rate)
{
    std::filesystem::create_directories(folder);
    const auto original = folder / "speech-espeak.wav";
    if (!std::filesystem::exists(original))
    {
        const std::string command = "espeak-ng -s 160 -w '" + original.string() + "' \"" + kSentences + "\"";
        if (std::system(command.c_str()) != 0)
            return std::nullopt;
    }
    auto wav = read_wav(original);
    if (!wav || wav->samples.empty())
        return std::nullopt;
    auto speech = resample(wav->samples, wav->rate, rate);
    write_wav(folder / ("speech-" + std::to_string(rate) + ".wav"), rate, speech);
    return speech;
}

inline void fft(std::vector<std::complex<double>>& a)
{
    const std::size_t n = a.size();
    for (std::size_t i = 1, j = 0; i < n; ++i)
    {
        std::size_t bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j)
            std::swap(a[i], a[j]);
    }
    for (std::size_t len = 2; len <= n; len <<= 1)
    {
        const std::complex<double> step = std::polar(1.0, -2 * std::numbers::pi / double(len));
        for (std::size_t i = 0; i < n; i += len)
        {
            std::complex<double> w = 1;
            for (std::size_t j = 0; j < len / 2; ++j, w *= step)
            {
                const auto u = a[i + j], v = a[i + j + len / 2] * w;
                a[i + j] = u + v;
                a[i + j + len / 2] = u - v;
            }
        }
    }
}

/// The lag (output sample i holds input sample i - lag) in [0, max_lag] with the best normalised correlation.
inline std::size_t best_lag(const std::vector<std::int16_t>& x, const std::vector<double>& y, std::size_t max_lag)
{
    double best = -2;
    std::size_t chosen = 0;
    for (std::size_t lag = 0; lag <= max_lag; ++lag)
    {
        double xy = 0, xx = 0, yy = 0;
        for (std::size_t i = 0; i + lag < y.size() && i < x.size(); i += 2)
        {
            xy += x[i] * y[i + lag];
            xx += double(x[i]) * x[i];
            yy += y[i + lag] * y[i + lag];
        }
        const double r = xx > 0 && yy > 0 ? xy / std::sqrt(xx * yy) : 0;
        if (r > best)
        {
            best = r;
            chosen = lag;
        }
    }
    return chosen;
}

/// Mean log-spectral distance (dB) over the speech frames (20 ms, Hann, input louder than -45 dBFS) between the
/// input and the output shifted back by `lag`, over 50 Hz..`top_hz` (above it espeak-ng's 22 kHz speech has no
/// content). Each frame's spectra are floored 60 dB under the input's strongest bin, so a silent output frame
/// costs a bounded amount rather than infinity. Phase-blind: it measures what a listener hears of the spectrum,
/// not waveform match (which Opus does not attempt).
/// `only`, when given, restricts the measure to the frames whose first sample's flag is set (for example the
/// frames that were concealed).
inline double log_spectral_distance(const std::vector<std::int16_t>& x, const std::vector<double>& y, std::size_t lag,
                                    std::uint32_t rate, double top_hz = 10000, const std::vector<bool>* only = nullptr)
{
    const std::size_t frame = rate / 50, size = 1024;  // 20 ms, zero-padded
    const std::size_t low = std::size_t(50.0 * size / rate), high = std::size_t(top_hz * size / rate);
    double total = 0;
    std::size_t frames = 0;
    for (std::size_t start = 0; start + frame < x.size() && start + lag + frame < y.size(); start += frame)
    {
        if (only)
        {
            bool any = false;
            for (std::size_t i = start + lag; i < start + lag + frame && i < only->size() && !any; ++i)
                any = (*only)[i];
            if (!any)
                continue;
        }
        double energy = 0;
        for (std::size_t i = 0; i < frame; ++i)
            energy += double(x[start + i]) * x[start + i];
        if (10 * std::log10(energy / frame / (32768.0 * 32768.0) + 1e-20) < -45)
            continue;
        std::vector<std::complex<double>> a(size), b(size);
        for (std::size_t i = 0; i < frame && i < size; ++i)
        {
            const double w = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * double(i) / double(frame - 1));
            a[i] = w * x[start + i];
            b[i] = w * y[start + lag + i];
        }
        fft(a);
        fft(b);
        double peak = 0;
        for (std::size_t k = low; k <= high; ++k)
            peak = std::max(peak, std::norm(a[k]));
        const double floor = peak * 1e-6;
        double sum = 0;
        for (std::size_t k = low; k <= high; ++k)
        {
            const double d = 10 * std::log10((std::norm(a[k]) + floor) / (std::norm(b[k]) + floor));
            sum += d * d;
        }
        total += std::sqrt(sum / double(high - low + 1));
        ++frames;
    }
    return frames ? total / double(frames) : 0;
}

inline double percentile(std::vector<double> values, double p)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const std::size_t at = std::min(values.size() - 1, std::size_t(p * double(values.size() - 1) + 0.5));
    return values[at];
}

}  // namespace eustress::net::testing
