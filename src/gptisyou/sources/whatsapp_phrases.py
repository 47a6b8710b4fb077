"""What WhatsApp writes in place of a message, in the languages we support.

Media placeholders, attachment references, deleted-message notices, the edited marker and the end-to-end
encryption notice, in English, German, French, Spanish, Portuguese, Italian and Dutch (and a few more where
known). All comparisons are on text with bidi marks removed and, for the fixed phrases, lower-cased.
"""

import re

from gptisyou.messages import Kind

# Invisible marks WhatsApp sprinkles around headers, names and placeholders.
MARKS = "\u200e\u200f\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_DROP_MARKS = str.maketrans("", "", MARKS)

MEDIA_PLACEHOLDERS = frozenset(
    {
        # Android, "without media" exports
        "<media omitted>",
        "<médias omis>",
        "<medien ausgeschlossen>",
        "<multimedia omitido>",
        "<archivo omitido>",
        "<mídia oculta>",
        "<arquivo de mídia oculto>",
        "<multimédia omitido>",
        "<media omessi>",
        "<media weggelaten>",
        "<medya dahil edilmedi>",
        "<медиафайл пропущен>",
        "<без медиафайлов>",
        # iOS, "without media" exports
        "image omitted",
        "video omitted",
        "audio omitted",
        "sticker omitted",
        "gif omitted",
        "document omitted",
        "contact card omitted",
        "voice message omitted",
        "bild weggelassen",
        "video weggelassen",
        "audio weggelassen",
        "sticker weggelassen",
        "gif weggelassen",
        "dokument weggelassen",
        "kontaktkarte ausgelassen",
        "image absente",
        "vidéo absente",
        "audio omis",
        "autocollant omis",
        "gif retiré",
        "document omis",
        "imagen omitida",
        "video omitido",
        "audio omitido",
        "sticker omitido",
        "gif omitido",
        "documento omitido",
        "imagem ocultada",
        "vídeo omitido",
        "áudio ocultado",
        "figurinha omitida",
        "documento ocultado",
        "immagine omessa",
        "video omesso",
        "audio omesso",
        "sticker omesso",
        "gif omessa",
        "documento omesso",
        "afbeelding weggelaten",
        "video weggelaten",
        "audio weggelaten",
        "sticker weggelaten",
        "gif weggelaten",
        "document weggelaten",
    }
)

# "<attached: F>" (iOS) and "F (file attached)" / "F <attached>" (Android), localized.
_ATTACHED_WORDS = "attached|anhang|pièce jointe|pièce-jointe|adjunto|anexado|anexo|allegato|bijgevoegd|bijlage"
_FILE_ATTACHED_WORDS = (
    "file attached|datei angehängt|fichier joint|archivo adjunto|arquivo anexado|file allegato|bestand bijgevoegd"
)
ATTACHMENT = re.compile(
    rf"<\s*(?:{_ATTACHED_WORDS})\s*:\s*(?P<a>.+?)\s*>"
    rf"|(?P<b>.+?)\s+\((?:{_FILE_ATTACHED_WORDS})\)"
    rf"|(?P<c>\S+?)\s*<\s*attached\s*>",
    re.IGNORECASE,
)

DELETED_NOTICES = frozenset(
    {
        "this message was deleted",
        "you deleted this message",
        "diese nachricht wurde gelöscht",
        "du hast diese nachricht gelöscht",
        "ce message a été supprimé",
        "vous avez supprimé ce message",
        "se eliminó este mensaje",
        "eliminaste este mensaje",
        "este mensaje fue eliminado",
        "mensagem apagada",
        "esta mensagem foi apagada",
        "você apagou esta mensagem",
        "apagaste esta mensagem",
        "questo messaggio è stato eliminato",
        "hai eliminato questo messaggio",
        "dit bericht is verwijderd",
        "je hebt dit bericht verwijderd",
        "u heeft dit bericht verwijderd",
    }
)

EDITED_MARKERS = frozenset(
    {
        "<this message was edited>",
        "<diese nachricht wurde bearbeitet>",
        "<ce message a été modifié>",
        "<se editó este mensaje.>",
        "<se editó este mensaje>",
        "<mensagem editada>",
        "<questo messaggio è stato modificato>",
        "<dit bericht is bewerkt>",
    }
)

# The encryption notice; iOS and some Android versions write it in the sender slot ("Alex: Messages and…").
E2E_NOTICE_PREFIXES = (
    "messages and calls are end-to-end encrypted",
    "messages to this chat and calls are now secured with end-to-end encryption",
    "messages to this group are now secured with end-to-end encryption",
    "messages you send to this chat and calls are now secured with end-to-end encryption",
    "messages you send to this group are now secured with end-to-end encryption",
    "nachrichten und anrufe sind ende-zu-ende-verschlüsselt",
    "les messages et les appels sont chiffrés de bout en bout",
    "les messages envoyés dans cette discussion",
    "los mensajes y las llamadas están cifrados de extremo a extremo",
    "as mensagens e as chamadas são protegidas com a criptografia de ponta a ponta",
    "i messaggi e le chiamate sono crittografati end-to-end",
    "berichten en oproepen worden end-to-end versleuteld",
)

_BLANK = " " + MARKS
_SHORT = 160  # placeholders and notices are short; longer first lines skip the table look-ups
# Cheap pre-checks: most messages are ruled out by their last character or their length.
_MEDIA_LAST_CHARS = frozenset(phrase[-1] for phrase in MEDIA_PLACEHOLDERS) | {">", ")"}
_MEDIA_LAST_CHARS |= {char.upper() for char in _MEDIA_LAST_CHARS}
_SHORTEST_DELETED_NOTICE = min(map(len, DELETED_NOTICES))
_LONGEST_DELETED_NOTICE = max(map(len, DELETED_NOTICES)) + 8  # room for marks, spaces, a final "."
_SHORTEST_E2E_NOTICE = min(map(len, E2E_NOTICE_PREFIXES))


def classify(text: str) -> tuple[Kind, str | None, str, bool]:
    """(kind, attached file name, text without the edited marker, edited) of a message someone wrote.

    Kind "system" means the encryption notice written in a sender slot. The cheap checks on one character or
    the length come first: this runs once per message of exports that hold millions.
    """
    edited = False
    if text.endswith(">"):
        text, edited = split_edited_marker(text)
    if len(text) >= _SHORTEST_E2E_NOTICE and is_e2e_notice(text):
        return "system", None, text, edited
    first_line = text if "\n" not in text else text[: text.index("\n")]
    if first_line.rstrip(_BLANK)[-1:] in _MEDIA_LAST_CHARS:
        is_media, attachment = media_attachment(first_line)
        if is_media:
            return "media", attachment, text, edited
    if _SHORTEST_DELETED_NOTICE <= len(text) <= _LONGEST_DELETED_NOTICE and is_deleted_notice(text):
        return "deleted", None, text, edited
    return "text", None, text, edited


def without_marks(text: str) -> str:
    return text.translate(_DROP_MARKS)


# iOS names a shared document and its size: "Itinerary.pdf • 3 pages document omitted", or, with the file in the
# export, "Itinerary.pdf • 3 pages <attached: 00000016-Itinerary.pdf>"
IOS_DOCUMENT = re.compile(
    rf"(?P<name>[^•<]+?) • (?:[^•<]+ )?(?:document omitted|<\s*(?:{_ATTACHED_WORDS})\s*:\s*(?P<file>.+?)\s*>)",
    re.IGNORECASE,
)


def media_attachment(first_line: str) -> tuple[bool, str | None]:
    """(is a media message, attached file name or None) for the first line of a message body."""
    probe = first_line.strip(_BLANK)
    if len(probe) > _SHORT:
        return False, None
    if probe.lower() in MEDIA_PLACEHOLDERS:
        return True, None
    if " • " in probe and (match := IOS_DOCUMENT.fullmatch(without_marks(probe))):
        return True, match["file"] or match["name"]
    if ("<" in probe or "(" in probe) and (match := ATTACHMENT.fullmatch(without_marks(probe))):
        return True, match["a"] or match["b"] or match["c"]
    return False, None


def is_deleted_notice(text: str) -> bool:
    if len(text) > _LONGEST_DELETED_NOTICE or "\n" in text:
        return False
    return text.strip(_BLANK).rstrip(".").lower() in DELETED_NOTICES


def is_e2e_notice(text: str) -> bool:
    return text[:100].lstrip(_BLANK).lower().startswith(E2E_NOTICE_PREFIXES)


def split_edited_marker(text: str) -> tuple[str, bool]:
    """(text without a trailing "<This message was edited>" marker, whether it had one)."""
    if not text.endswith(">"):
        return text, False
    start = text.rfind("<")
    if start < 0 or without_marks(text[start:]).lower() not in EDITED_MARKERS:
        return text, False
    return text[:start].rstrip(" " + MARKS), True
