"""The commented starter brief that ``aura init`` writes."""

STARTER_BRIEF = """\
# An aura brief: what the video is about and how it is made.
# Every key but brief.topic has a default. Run it with:  aura run {name}

[brief]
topic = "How honeybees tell each other where the flowers are"
audience = "curious adults"          # who it is for
goal = "explain the waggle dance"    # what the viewer should take away
tone = "informative"                 # e.g. informative, playful, calm, urgent
language = "en"
aspect = "16:9"                      # 16:9 | 9:16 | 1:1

[plan]
duration = "60s"                     # "90s", "2m", "1m30s"
pacing = "conversational"            # chill (130 wpm) | conversational (150) | fast (175)
density = "balanced"                 # sparse (a scene per 12 s) | balanced (8 s) | dense (5 s)
style = "documentary"                # the look of the pictures
# scenes = 8                         # overrides the count from duration and density

[voice]
name = "joe"                         # the voice (provider-specific name or id)
rate = 1.0                           # speaking-rate multiplier, 0.5 to 2.0
pitch = 0.0                          # semitones, -12 to 12 (where the voice supports it)
pause = "normal"                     # silence after each scene: short 0.3 s | normal 0.6 s | long 1.0 s

[render]
preset = "1080p"                     # 360p 480p 720p 1080p 1440p 4k, or: resolution = "1280x720"
fps = 30
codec = "h264"                       # h264 | h265 | vp9 | av1
quality = "standard"                 # draft | standard | high | max
captions = "burn"                    # burn | sidecar | off
transition = "crossfade"             # crossfade | mixed | none | any ffmpeg xfade name
transition_duration = 0.5            # seconds
loudness = -14.0                     # integrated loudness target, LUFS
# music = "music/calm.mp3"           # under the narration, ducked while it speaks
# music_volume = 0.25
# credits = true                     # write final.credits.txt: who made each scene's picture or clip

[providers]                          # an ordered fallback chain per kind (omit a kind for the offline default)
# llm = ["openai", "template"]
# tts = ["elevenlabs", "piper"]
# image = ["sd", "cards"]
# composer = ["ffmpeg"]

# [providers.openai]                 # settings for one provider; keys come from the environment, never from here
# model = "gpt-4o-mini"
# timeout = 60                       # middleware settings, for any provider: timeout, attempts, backoff,
# attempts = 4                       #   backoff_max, budget, retry_after_max, breaker_threshold, breaker_cooldown
"""
