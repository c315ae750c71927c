"""A Rekordbox 6 XML export written by hand for the importer tests (the layout Rekordbox writes), as fixtures."""

from __future__ import annotations

from collections.abc import Callable

import pytest

COLLECTION_XML = """<?xml version="1.0" encoding="UTF-8"?>

<DJ_PLAYLISTS Version="1.0.0">
  <PRODUCT Name="rekordbox" Version="6.8.2" Company="AlphaTheta"/>
  <COLLECTION Entries="4">
    <TRACK TrackID="90871234" Name="Night Drive" Artist="Lumen Array" Composer="" Album="Night Drive EP"
           Grouping="" Genre="Deep House" Kind="MP3 File" Size="8612345" TotalTime="64" DiscNumber="0"
           TrackNumber="1" Year="2021" AverageBpm="120.00" DateAdded="2023-04-02" BitRate="320"
           SampleRate="44100" Comments="" PlayCount="3" Rating="0"
           Location="file://localhost/Users/dj/Music/Lumen%20Array/Night%20Drive.mp3" Remixer="" Tonality="8A"
           Label="" Mix="">
      <TEMPO Inizio="0.100" Bpm="120.00" Metro="4/4" Battito="1"/>
      <POSITION_MARK Name="" Type="0" Start="0.100" Num="-1"/>
      <POSITION_MARK Name="Intro" Type="0" Start="0.100" Num="0" Red="40" Green="226" Blue="20"/>
      <POSITION_MARK Name="Build" Type="0" Start="16.100" Num="1" Red="255" Green="140" Blue="0"/>
      <POSITION_MARK Name="" Type="4" Start="24.100" End="32.100" Num="-1"/>
      <POSITION_MARK Name="Drop" Type="0" Start="32.100" Num="2" Red="230" Green="40" Blue="40"/>
      <POSITION_MARK Name="Outro" Type="0" Start="48.100" Num="-1"/>
    </TRACK>
    <TRACK TrackID="90871235" Name="Tempo Shift" Artist="Kettle" Composer="" Album="" Grouping=""
           Genre="Techno" Kind="WAV File" Size="21345678" TotalTime="12" DiscNumber="0" TrackNumber="0"
           Year="0" AverageBpm="125.00" DateAdded="2023-05-11" BitRate="1411" SampleRate="44100"
           Comments="tempo change at 4 s" PlayCount="0" Rating="0"
           Location="file://localhost/C:/Users/dj/Music/Kettle%20-%20Tempo%20Shift.wav" Remixer=""
           Tonality="5A" Label="" Mix="">
      <TEMPO Inizio="0.000" Bpm="120.00" Metro="4/4" Battito="1"/>
      <TEMPO Inizio="4.000" Bpm="150.00" Metro="3/4" Battito="2"/>
      <POSITION_MARK Name="" Type="0" Start="4.000" Num="-1"/>
      <POSITION_MARK Name="Switch" Type="0" Start="4.0004" Num="3"/>
      <POSITION_MARK Name="Off" Type="0" Start="9.130" Num="-1"/>
    </TRACK>
    <TRACK TrackID="90871236" Name="Unanalysed" Artist="Someone" Kind="MP3 File" TotalTime="180"
           AverageBpm="0.00" Location="file://localhost/Users/dj/Music/unanalysed.mp3"/>
    <TRACK TrackID="90871237" Name="Not In Metadata" Artist="Nobody" Kind="FLAC File" TotalTime="200"
           AverageBpm="128.00" Location="file://localhost/Users/dj/Music/elsewhere.flac">
      <TEMPO Inizio="0.050" Bpm="128.00" Metro="4/4" Battito="1"/>
    </TRACK>
  </COLLECTION>
  <PLAYLISTS>
    <NODE Type="0" Name="ROOT" Count="1">
      <NODE Name="Warm-up" Type="1" KeyType="0" Entries="2">
        <TRACK Key="90871234"/>
        <TRACK Key="90871235"/>
      </NODE>
    </NODE>
  </PLAYLISTS>
</DJ_PLAYLISTS>
"""


def with_track_attribute(track_id: str, attribute: str, value: str) -> str:
    """:data:`COLLECTION_XML` with one attribute of one ``TRACK`` (or of its first ``TEMPO`` / ``POSITION_MARK``) changed.

    ``attribute`` is ``NAME`` for the track itself, or ``TEMPO.NAME`` / ``POSITION_MARK.NAME`` for its first
    child of that tag.
    """
    start = COLLECTION_XML.index(f'TrackID="{track_id}"')
    if "." in attribute:
        tag, attribute = attribute.split(".")
        start = COLLECTION_XML.index(f"<{tag} ", start)
    key = f' {attribute}="'
    at = COLLECTION_XML.index(key, start) + len(key)
    end = COLLECTION_XML.index('"', at)
    return COLLECTION_XML[:at] + value + COLLECTION_XML[end:]


@pytest.fixture
def collection_xml() -> str:
    """The export's text."""
    return COLLECTION_XML


@pytest.fixture
def edited_xml() -> Callable[[str, str, str], str]:
    """:func:`with_track_attribute`."""
    return with_track_attribute
