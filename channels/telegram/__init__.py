"""The Telegram channel: aiogram 3 bot, its rendering, sending limits and voice notes."""
