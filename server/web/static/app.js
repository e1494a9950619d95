// facerec door-access page: door check (camera or photo), enrol, compare
// two photos, recent door decisions, people.
//
// Plain JavaScript, no framework or build step. All text from the server
// is put in the page with textContent, never as HTML, so a person's name
// cannot inject markup; the Content-Security-Policy backs that up.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  const KEY_STORAGE = "facerec.apiKey";
  const PAGE_SIZE = 100; // people per page
  const TICK_MS = 700; // door check: one frame per tick
  // Longest side of a door frame sent to the server: up to 1080p the
  // camera's own frame, since the server looks for faces down to 40 px in
  // large frames; shrunk to 640 a face across the room would fall below that.
  const DOOR_MAX_SIDE = 1920;
  const ENROL_MAX_SIDE = 1280; // longest side of an enrolment snapshot
  const STILL_SIDE = 960; // longest side a checked photo is drawn at (small ones too, so labels stay legible)
  const JPEG_QUALITY = 0.9;
  const HISTORY_MS = 5000; // how often the history panel is re-read
  const HISTORY_SHOWN = 20;
  const EVENTS_SHOWN = 20; // audit records in the audit panel

  // What the server says about itself (GET v1/info); the defaults stand
  // in for an older server without it.
  const info = { auth: true, threshold: null, close_call_band: 0.05 };

  // ---- API ----------------------------------------------------------------

  function apiKey() {
    try {
      return localStorage.getItem(KEY_STORAGE) || "";
    } catch {
      return ""; // storage disabled: behave as if no key was set
    }
  }

  class APIError extends Error {
    constructor(status, code, message, detail) {
      super(message);
      this.status = status;
      this.code = code;
      this.detail = detail || {}; // the error object: person, faces, photo
    }
  }

  // Sentences for people, by error code: the server's messages are for
  // programmers.
  const friendly = {
    no_face: "No face was found in the photo. Use a clear photo of the face, looking at the camera.",
    multiple_faces: "The photo shows more than one face. Use a photo of this person alone.",
    unsupported_format: "This file is not a photo. Use a JPEG, PNG or WebP photo.",
    corrupt_image: "This photo is damaged or incomplete, so it cannot be read. Try another copy of it.",
    too_large: "This photo is too large. Use a smaller one.",
    busy: "The server is busy. Try again in a moment.",
    timeout: "The server took too long to answer. Try again.",
    forbidden: "This API key is not allowed to do that.",
    store_unavailable: "The gallery cannot be changed right now. Try again shortly.",
    internal: "The server failed. Its log says why.",
    not_found: "That person is no longer enrolled.",
  };

  // api sends one request to the JSON API and returns the parsed body (null
  // for 204), or throws an APIError with a message for people.
  async function api(method, path, body, contentType) {
    const headers = { Accept: "application/json" };
    const key = apiKey();
    if (key) headers.Authorization = "Bearer " + key;
    if (contentType) headers["Content-Type"] = contentType;
    let resp;
    try {
      resp = await fetch(path, { method, headers, body, cache: "no-store" });
    } catch {
      throw new APIError(0, "network", "Cannot reach the server. Check that it is running and try again.");
    }
    if (resp.status === 204) return null;
    const text = await resp.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null; // e.g. a proxy's HTML error page
      }
    }
    if (!resp.ok) {
      const err = (data && data.error) || {};
      const own = err.code === "forbidden" && !apiKey(); // a keyless server's refusal says why
      let msg = (!own && friendly[err.code]) || sentence(err.message) || "The server answered " + resp.status + " " + resp.statusText + ".";
      if (resp.status === 401) {
        msg = apiKey() ? "The API key was not accepted. Check it at the top of the page." : "An API key is needed. Set the API key at the top of the page.";
        showKeyForm();
      }
      if (err.photo) msg = (err.photo === 1 ? "First photo: " : "Second photo: ") + msg;
      throw new APIError(resp.status, err.code || "", msg, err);
    }
    if (data === null) throw new APIError(resp.status, "bad_response", "The server sent an unreadable answer.");
    return data;
  }

  // sentence capitalises a server message and ends it with a full stop.
  function sentence(s) {
    if (!s) return "";
    s = String(s);
    s = s.charAt(0).toUpperCase() + s.slice(1);
    return /[.!?]$/.test(s) ? s : s + ".";
  }

  // show sets a status element's text and kind (ok, error or none). An
  // unchanged message is left alone, so that live regions updated on every
  // door-check tick are not read out again and again.
  function show(el, text, kind) {
    const cls = kind || "";
    if (el.textContent === text && (el.dataset.kind || "") === cls) return;
    el.dataset.kind = cls;
    el.textContent = text;
    el.classList.remove("ok", "error", "warn");
    if (kind) el.classList.add(kind);
  }

  const fmt = (d) => (typeof d === "number" && isFinite(d) ? d.toFixed(2) : "?");
  const pct = (p) => Math.round(p * 100) + "%";

  // threshold is the distance in force for a result: its own, else the
  // server's.
  function thresholdOf(r) {
    if (r && typeof r.threshold === "number") return r.threshold;
    return typeof info.threshold === "number" ? info.threshold : null;
  }

  function isClose(d, t) {
    return typeof d === "number" && typeof t === "number" && Math.abs(d - t) < info.close_call_band;
  }

  // ---- camera ---------------------------------------------------------------

  function cameraMessage(e) {
    switch (e && e.name) {
      case "NotAllowedError":
      case "SecurityError":
        return "Camera unavailable: permission was denied. Allow the camera for this page and try again, or check a photo instead.";
      case "NotFoundError":
      case "OverconstrainedError":
        return "Camera unavailable: no camera was found. You can check a photo instead.";
      case "NotReadableError":
        return "Camera unavailable: it is in use by another program, or it failed.";
      default:
        return "Camera unavailable: " + ((e && e.message) || "unknown error") + ".";
    }
  }

  // openCamera starts the webcam into video and resolves once its size is
  // known, or throws an Error whose message says why the camera is unusable.
  async function openCamera(video) {
    if (!window.isSecureContext) {
      throw new Error("Camera unavailable: browsers allow the camera only on HTTPS pages or on localhost.");
    }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("Camera unavailable: this browser cannot use a camera.");
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: false,
      });
    } catch (e) {
      throw new Error(cameraMessage(e));
    }
    video.srcObject = stream;
    try {
      if (video.readyState < HTMLMediaElement.HAVE_METADATA) {
        await new Promise((resolve, reject) => {
          video.addEventListener("loadedmetadata", resolve, { once: true });
          video.addEventListener("error", () => reject(new Error("the video did not start")), { once: true });
        });
      }
      await video.play();
    } catch (e) {
      closeCamera(video, stream);
      throw new Error(cameraMessage(e));
    }
    return stream;
  }

  function closeCamera(video, stream) {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
  }

  // grab draws the current video frame on canvas, its longest side at most
  // maxSide, and reports whether there was a frame to draw.
  function grab(video, canvas, maxSide) {
    const vw = video.videoWidth;
    const vh = video.videoHeight;
    if (!vw || !vh) return false;
    const s = Math.min(1, maxSide / Math.max(vw, vh));
    canvas.width = Math.round(vw * s);
    canvas.height = Math.round(vh * s);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return true;
  }

  function toJPEG(canvas) {
    return new Promise((resolve, reject) => {
      canvas.toBlob(
        (b) => (b ? resolve(b) : reject(new Error("could not encode the frame as JPEG"))),
        "image/jpeg",
        JPEG_QUALITY,
      );
    });
  }

  // drawPhoto draws a photo file on canvas, its longest side side pixels,
  // and returns the scale from the photo's pixels to the canvas's (the
  // server's boxes are in the photo's), or 0 when the browser cannot read
  // it (the server then says what is wrong with it).
  async function drawPhoto(file, canvas, side) {
    let bmp;
    try {
      bmp = await createImageBitmap(file);
    } catch {
      return 0;
    }
    const s = side / Math.max(bmp.width, bmp.height);
    canvas.width = Math.max(1, Math.round(bmp.width * s));
    canvas.height = Math.max(1, Math.round(bmp.height * s));
    canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
    bmp.close();
    return s;
  }

  // ---- drag and drop ------------------------------------------------------

  // Every .drop element takes a dropped photo into the file input named by
  // its data-for, as if chosen there (its change handler runs).
  for (const zone of document.querySelectorAll(".drop")) {
    const input = $(zone.dataset.for);
    zone.addEventListener("dragover", (ev) => {
      if (!ev.dataTransfer || !Array.from(ev.dataTransfer.types).includes("Files")) return;
      ev.preventDefault();
      ev.dataTransfer.dropEffect = "copy";
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (ev) => {
      zone.classList.remove("over");
      if (!ev.dataTransfer || !ev.dataTransfer.files.length) return;
      ev.preventDefault();
      const dt = new DataTransfer();
      dt.items.add(ev.dataTransfer.files[0]); // one photo: the first
      input.files = dt.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }
  // A photo dropped beside a zone must not make the browser leave the page
  // to show it.
  window.addEventListener("dragover", (ev) => ev.preventDefault());
  window.addEventListener("drop", (ev) => ev.preventDefault());

  // ---- API key ----------------------------------------------------------------

  const keyForm = $("key-form");
  const keyInput = $("api-key");
  const keyStatus = $("key-status");
  keyInput.value = apiKey();

  // The key box is shown when the server uses keys, or a key is stored.
  function showKeyForm() {
    keyForm.hidden = false;
  }

  keyForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = keyInput.value.trim();
    try {
      if (v) localStorage.setItem(KEY_STORAGE, v);
      else localStorage.removeItem(KEY_STORAGE);
      show(keyStatus, v ? "Key saved." : "Key cleared.", "ok");
    } catch {
      show(keyStatus, "Cannot store the key: browser storage is disabled.", "error");
    }
    loadPeople();
    loadHistory();
  });

  // ---- door check ------------------------------------------------------------------

  const doorToggle = $("door-toggle");
  const doorStatus = $("door-status");
  const doorMedia = $("door-media");
  const doorVideo = $("door-video");
  const doorStill = $("door-still");
  const doorPhoto = $("door-photo");
  const overlay = $("door-overlay");
  const doorResults = $("door-results");
  const frame = document.createElement("canvas"); // off-screen: the frame sent
  let door = null; // {stream, timer, busy} while running
  let stillSeq = 0; // only the newest photo check may draw
  let lastResults = ""; // the live region is only touched when this changes

  function setResults(lines) {
    const key = lines.map((l) => l.kind + ":" + l.text).join("\n");
    if (key === lastResults) return; // don't make screen readers repeat it
    lastResults = key;
    doorResults.replaceChildren(
      ...lines.map((l) => {
        const li = document.createElement("li");
        li.textContent = l.text;
        li.className = l.kind;
        return li;
      }),
    );
  }

  async function startDoor() {
    doorToggle.disabled = true;
    stillSeq++; // a photo check in flight is dropped
    show(doorStatus, "Starting the camera…");
    doorMedia.hidden = false;
    doorStill.hidden = true;
    doorVideo.hidden = false;
    try {
      const stream = await openCamera(doorVideo);
      door = { stream, timer: 0, busy: false };
      // The camera can go away (unplugged, permission revoked).
      // (stop() ends a track without this event, so only a camera lost
      // while this run uses it stops the check.)
      stream.getVideoTracks().forEach((t) =>
        t.addEventListener("ended", () => {
          if (door && door.stream === stream) stopDoor("Camera unavailable: the camera stopped.", "error");
        }),
      );
      door.timer = setInterval(tick, TICK_MS);
      challengeButtons.forEach((b) => (b.hidden = false));
      doorToggle.textContent = "Stop door check";
      show(doorStatus, "Watching the door.");
    } catch (e) {
      doorMedia.hidden = true;
      closeCamera(doorVideo, null);
      show(doorStatus, e.message, "error");
    } finally {
      doorToggle.disabled = false;
    }
  }

  function stopDoor(message, kind) {
    challengeButtons.forEach((b) => (b.hidden = true));
    challengeSeq++; // a challenge under way is dropped
    if (door) {
      clearInterval(door.timer);
      closeCamera(doorVideo, door.stream);
      door = null; // a reply still in flight sees this and is dropped
    }
    doorMedia.hidden = true;
    overlay.getContext("2d").clearRect(0, 0, overlay.width, overlay.height);
    setResults([]);
    doorToggle.textContent = "Start door check";
    show(doorStatus, message || "Stopped.", kind);
  }

  doorToggle.addEventListener("click", () => (door ? stopDoor() : startDoor()));

  // ---- active liveness challenge ---------------------------------------------
  // The person is asked to turn their head (or blink) while a few frames
  // are taken; the server checks the motion from the landmarks
  // (POST /v1/challenge): a photo held to the camera does not turn as a
  // head does, and does not blink. The answer binds nothing on the server
  // (docs/security.md): it tells the person at the door, not the lock.
  const challengeStatus = $("challenge-status");
  const challengeButtons = [$("challenge-turn"), $("challenge-blink")];
  const CHALLENGE_FRAMES = 8;
  const CHALLENGE_MS = 350; // between frames: about 3 s in all
  let challengeSeq = 0;
  const challengePrompts = {
    turn: ["Look at the camera…", "Now turn your head slowly to one side…", "…and to the other side…", "…and back."],
    blink: ["Look at the camera…", "Blink slowly…", "…and once more."],
  };

  async function runChallenge(kind) {
    const run = door;
    if (!run) return;
    const seq = ++challengeSeq;
    challengeButtons.forEach((b) => (b.disabled = true));
    const canvas = document.createElement("canvas");
    const fd = new FormData();
    fd.append("kind", kind);
    try {
      const prompts = challengePrompts[kind];
      for (let i = 0; i < CHALLENGE_FRAMES; i++) {
        show(challengeStatus, prompts[Math.min(prompts.length - 1, Math.floor((i * prompts.length) / CHALLENGE_FRAMES))]);
        await new Promise((r) => setTimeout(r, CHALLENGE_MS));
        if (seq !== challengeSeq || door !== run) return;
        if (!grab(doorVideo, canvas, 640)) throw new Error("the camera gave no picture");
        fd.append("frame" + (i + 1), await toJPEG(canvas), "frame" + (i + 1) + ".jpg");
      }
      show(challengeStatus, "Checking…");
      const res = await api("POST", "v1/challenge", fd);
      if (seq !== challengeSeq) return;
      if (res.passed) {
        const how = kind === "turn"
          ? "the head turned " + Math.round(res.yaw_min) + "° and +" + Math.round(res.yaw_max) + "°"
          : res.blinks + (res.blinks === 1 ? " blink" : " blinks");
        show(challengeStatus, "Liveness check passed: " + how + ".", "ok");
      } else {
        show(challengeStatus, "Liveness check failed: " + (res.reason || "not met") + ". Try again.", "error");
      }
    } catch (e) {
      if (seq === challengeSeq) show(challengeStatus, "Liveness check not done: " + e.message, "error");
    } finally {
      if (seq === challengeSeq) challengeButtons.forEach((b) => (b.disabled = false));
    }
  }

  challengeButtons[0].addEventListener("click", () => runChallenge("turn"));
  challengeButtons[1].addEventListener("click", () => runChallenge("blink"));

  // tick sends one frame to /v1/identify, skipping the tick while the
  // previous request is still in flight so a slow server never builds a
  // queue of stale frames.
  async function tick() {
    const run = door;
    if (!run || run.busy) return;
    if (!grab(doorVideo, frame, DOOR_MAX_SIDE)) return;
    run.busy = true;
    const w = frame.width;
    const h = frame.height;
    try {
      const blob = await toJPEG(frame);
      const fd = new FormData();
      fd.append("photo", blob, "frame.jpg");
      const res = await api("POST", "v1/identify", fd);
      if (door !== run) return; // stopped meanwhile
      draw(res.faces || [], w, h, 1);
      show(doorStatus, "Watching the door.");
      historySoon();
    } catch (e) {
      if (door === run) show(doorStatus, e.message, "error");
    } finally {
      run.busy = false;
    }
  }

  // checkPhoto runs the door check on a photo file: the photo is shown with
  // each face's box and named as from the camera.
  async function checkPhoto(file) {
    if (door) stopDoor();
    const seq = ++stillSeq;
    show(doorStatus, "Checking " + file.name + "…");
    setResults([]);
    doorVideo.hidden = true;
    const scale = await drawPhoto(file, doorStill, STILL_SIDE);
    if (seq !== stillSeq) return;
    doorStill.hidden = !scale;
    doorMedia.hidden = !scale;
    overlay.getContext("2d").clearRect(0, 0, overlay.width, overlay.height);
    const fd = new FormData();
    fd.append("photo", file);
    try {
      const res = await api("POST", "v1/identify", fd);
      if (seq !== stillSeq) return;
      const faces = res.faces || [];
      if (scale) draw(faces, doorStill.width, doorStill.height, scale);
      else setResults(faces.length ? faces.map(describe) : [{ kind: "none", text: "No face in the photo." }]);
      show(doorStatus, "Checked " + file.name + ": " + (faces.length === 1 ? "1 face." : faces.length + " faces."), "ok");
      historySoon();
    } catch (e) {
      if (seq !== stillSeq) return;
      doorMedia.hidden = true;
      show(doorStatus, "Not checked: " + e.message, "error");
    }
  }

  doorPhoto.addEventListener("change", () => {
    if (doorPhoto.files.length) checkPhoto(doorPhoto.files[0]);
    doorPhoto.value = ""; // the same file again is another check
  });

  // describe turns one identified face into its label, its list line and
  // its kind: known, unknown or close (a close call, either way).
  function describe(f) {
    const t = thresholdOf(f);
    const tt = t === null ? "" : " (threshold " + fmt(t) + ")";
    const conf = (typeof f.confidence === "number" ? ", confidence " + pct(f.confidence) : "") +
      (typeof f.margin === "number" && f.match ? ", " + fmt(f.margin) + " ahead of the next person" : "");
    if (f.refused === "not_live") { // serve --liveness: whoever it looks like, the door stays shut
      const ls = typeof f.liveness === "number" ? " (liveness " + fmt(f.liveness) + ")" : "";
      return { kind: "unknown", label: "not live", text: "refused: not live" + ls + " — a photo or a screen? Try again in person" };
    }
    if (f.refused === "poor_quality") { // serve --door-quality refuse: not a stranger, a photo too poor to tell
      const rs = f.quality && Array.isArray(f.quality.reasons) ? f.quality.reasons.join(", ").replace(/_/g, " ") : "poor photo";
      return { kind: "unknown", label: "try again", text: "try again: the picture is too poor (" + rs + ") — face the camera, in good light" };
    }
    if (f.match) {
      const name = String(f.match.name || f.match.id || "?");
      const d = f.match.distance;
      const close = isClose(d, t);
      return {
        kind: close ? "known close" : "known",
        label: name + " " + fmt(d),
        text: name + ", distance " + fmt(d) + tt + conf + (close ? " — close call, take a look" : ""),
      };
    }
    const c = Array.isArray(f.candidates) ? f.candidates[0] : null;
    if (c) {
      const d = c.distance;
      const near = String(c.name || c.id || "?");
      if (isClose(d, t)) {
        return {
          kind: "unknown close",
          label: "close call: " + near + "?",
          text: "unknown — close call: nearest is " + near + ", distance " + fmt(d) + tt + conf,
        };
      }
      return { kind: "unknown", label: "unknown " + fmt(d), text: "unknown, nearest distance " + fmt(d) + tt };
    }
    return { kind: "unknown", label: "unknown", text: "unknown" };
  }

  const colours = { known: "#1a7f37", unknown: "#c4320a", close: "#9a6700" };

  // draw paints each face's box and label on the overlay, whose pixel size
  // is the frame's (w×h; scale maps the server's boxes onto it); CSS
  // stretches it over the video or photo, which has the same aspect ratio.
  function draw(faces, w, h, scale) {
    overlay.width = w;
    overlay.height = h;
    const g = overlay.getContext("2d");
    g.clearRect(0, 0, w, h);
    const line = Math.max(2, Math.round(w / 240));
    const size = Math.max(14, Math.round(w / 32));
    g.lineWidth = line;
    g.font = "600 " + size + "px system-ui, sans-serif";
    g.textBaseline = "top";
    const lines = [];
    for (const f of faces) {
      const d = describe(f);
      lines.push(d);
      if (!Array.isArray(f.box) || f.box.length !== 4) continue; // listed, not drawn
      const [x, y, bw, bh] = f.box.map((v) => v * scale);
      const colour = d.kind.includes("close") ? colours.close : d.kind.startsWith("known") ? colours.known : colours.unknown;
      g.strokeStyle = colour;
      g.strokeRect(x, y, bw, bh);
      const tw = g.measureText(d.label).width + 2 * line;
      const th = size + 2 * line;
      // Label above the box, or inside it when the box touches the top.
      const ly = y - th >= 0 ? y - th : y;
      g.fillStyle = colour;
      g.fillRect(x - line / 2, ly, tw, th);
      g.fillStyle = "#fff";
      g.fillText(d.label, x + line / 2, ly + line);
    }
    if (!lines.length) lines.push({ kind: "none", text: "No face in view." });
    setResults(lines);
  }

  // ---- enrol --------------------------------------------------------------------

  const enrolForm = $("enrol-form");
  const enrolName = $("enrol-name");
  const enrolPhoto = $("enrol-photo");
  const enrolCamera = $("enrol-camera");
  const enrolSnap = $("enrol-snap");
  const enrolMedia = $("enrol-media");
  const enrolVideo = $("enrol-video");
  const enrolSnapshot = $("enrol-snapshot");
  const enrolSubmit = $("enrol-submit");
  const enrolResult = $("enrol-result");
  const enrolExists = $("enrol-exists");
  const enrolChoose = $("enrol-choose");
  let enrolStream = null;
  let snapshot = null; // JPEG Blob of the last snapshot, used instead of a file
  // pending is the enrolment waiting for an answer from the person at the
  // page: {name, photo (Blob), filename, target: "new" | "add" | "",
  // person (for add)}.
  let pending = null;

  function stopEnrolCamera() {
    closeCamera(enrolVideo, enrolStream);
    enrolStream = null;
    enrolVideo.hidden = true;
    enrolSnap.disabled = true;
    enrolCamera.textContent = "Start camera";
    if (!snapshot) enrolMedia.hidden = true;
  }

  function clearSnapshot() {
    snapshot = null;
    enrolSnapshot.hidden = true;
    if (!enrolStream) enrolMedia.hidden = true;
  }

  enrolCamera.addEventListener("click", async () => {
    if (enrolStream) {
      stopEnrolCamera();
      return;
    }
    enrolCamera.disabled = true;
    show(enrolResult, "Starting the camera…");
    try {
      enrolMedia.hidden = false;
      enrolVideo.hidden = false;
      enrolStream = await openCamera(enrolVideo);
      enrolSnap.disabled = false;
      enrolCamera.textContent = "Stop camera";
      show(enrolResult, "Camera on. Take a snapshot when the face is clear.");
    } catch (e) {
      stopEnrolCamera();
      show(enrolResult, e.message, "error");
    } finally {
      enrolCamera.disabled = false;
    }
  });

  enrolSnap.addEventListener("click", async () => {
    if (!grab(enrolVideo, enrolSnapshot, ENROL_MAX_SIDE)) {
      show(enrolResult, "The camera has no picture yet; try again in a moment.", "error");
      return;
    }
    try {
      snapshot = await toJPEG(enrolSnapshot);
    } catch (e) {
      show(enrolResult, "Snapshot failed: " + e.message + ".", "error");
      return;
    }
    enrolPhoto.value = ""; // the snapshot replaces any chosen file
    enrolSnapshot.hidden = false;
    show(enrolResult, "Snapshot taken; it will be enrolled instead of a file.");
  });

  enrolPhoto.addEventListener("change", () => {
    if (enrolPhoto.files.length) {
      clearSnapshot(); // the newest choice wins
      show(enrolResult, "Photo: " + enrolPhoto.files[0].name + ".");
    }
  });

  function closeAsks() {
    enrolExists.hidden = true;
    enrolChoose.hidden = true;
  }

  enrolForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    closeAsks();
    const name = enrolName.value.trim();
    if (!name) {
      show(enrolResult, "Enter the person's name.", "error");
      enrolName.focus();
      return;
    }
    let photo;
    let filename;
    if (snapshot) {
      photo = snapshot;
      filename = "snapshot.jpg";
    } else if (enrolPhoto.files.length) {
      photo = enrolPhoto.files[0];
      filename = photo.name;
    } else {
      show(enrolResult, "Choose a photo file or take a snapshot with the camera.", "error");
      return;
    }
    pending = { name, photo, filename, target: "", person: null };
    await sendEnrolment({});
  });

  // sendEnrolment sends the pending enrolment with extra fields (face=N,
  // new=1) to its target: a new person, or the person it adds a face to.
  async function sendEnrolment(extra) {
    const p = pending;
    if (!p) return;
    const fd = new FormData();
    let path = "v1/people";
    if (p.target === "add") {
      path = "v1/people/" + encodeURIComponent(p.person.id) + "/faces";
    } else {
      fd.append("name", p.name);
      if (p.target === "new") fd.append("new", "1");
    }
    for (const [k, v] of Object.entries(extra)) fd.append(k, v);
    fd.append("photo", p.photo, p.filename);
    enrolSubmit.disabled = true;
    show(enrolResult, p.target === "add" ? "Adding the photo to " + p.person.name + "…" : "Enrolling " + p.name + "…");
    try {
      const person = await api("POST", path, fd);
      pending = null;
      closeAsks();
      if (p.target === "add") {
        show(enrolResult, "Added the photo to " + person.name + " (" + faces(person.faces) + ").", "ok");
      } else {
        show(enrolResult, "Enrolled " + person.name + " (id " + person.id + ").", "ok");
      }
      enrolName.value = "";
      enrolPhoto.value = "";
      clearSnapshot();
      loadPeople();
      if (personShown && personShown.id === person.id) showPerson(person);
    } catch (e) {
      if (e.code === "name_exists" && e.detail.person) {
        askExisting(e.detail.person);
        return;
      }
      if (e.code === "multiple_faces" && Array.isArray(e.detail.faces) && e.detail.faces.length > 1) {
        await askFace(e.detail.faces);
        return;
      }
      pending = null;
      show(enrolResult, (p.target === "add" ? "Not added: " : "Not enrolled: ") + e.message, "error");
    } finally {
      enrolSubmit.disabled = false;
    }
  }

  const faces = (n) => (n === 1 ? "1 face" : n + " faces");

  // askExisting asks what to do with a name that is already enrolled: the
  // page never makes a second person of one name without being told to.
  function askExisting(person) {
    pending.person = person;
    show(enrolResult, "");
    show($("enrol-exists-text"), person.name + " is already enrolled (" + faces(person.faces) + ", id " + person.id + "). " +
      "Is this photo of the same person?");
    $("enrol-add").textContent = "Yes: add this photo to " + person.name;
    $("enrol-new").textContent = "No: enrol a different person named " + pending.name;
    enrolExists.hidden = false;
    $("enrol-add").focus();
  }

  $("enrol-add").addEventListener("click", () => {
    pending.target = "add";
    enrolExists.hidden = true;
    sendEnrolment({});
  });
  $("enrol-new").addEventListener("click", () => {
    pending.target = "new";
    enrolExists.hidden = true;
    sendEnrolment({});
  });
  const cancelAsk = () => {
    pending = null;
    closeAsks();
    show(enrolResult, "Not enrolled.");
  };
  $("enrol-cancel").addEventListener("click", cancelAsk);
  $("enrol-choose-cancel").addEventListener("click", cancelAsk);

  // askFace shows the photo with its numbered faces and asks which one is
  // the person; the answer is sent again with face=N.
  async function askFace(boxes) {
    const canvas = $("enrol-choose-canvas");
    const scale = await drawPhoto(pending.photo, canvas, 640);
    const who = pending.target === "add" ? pending.person.name : pending.name;
    show(enrolResult, "");
    show($("enrol-choose-text"), "The photo shows " + boxes.length + " faces. Which one is " + who + "?");
    if (scale) {
      const g = canvas.getContext("2d");
      const line = Math.max(2, Math.round(canvas.width / 200));
      const size = Math.max(14, Math.round(canvas.width / 24));
      g.lineWidth = line;
      g.font = "700 " + size + "px system-ui, sans-serif";
      g.textBaseline = "top";
      boxes.forEach((b, i) => {
        const [x, y, w, h] = b.box.map((v) => v * scale);
        g.strokeStyle = colours.close;
        g.strokeRect(x, y, w, h);
        g.fillStyle = colours.close;
        g.fillRect(x, y, size + 2 * line, size + 2 * line);
        g.fillStyle = "#fff";
        g.fillText(String(i + 1), x + line, y + line);
      });
    }
    canvas.parentElement.hidden = !scale;
    const buttons = boxes.map((b, i) => {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = "Face " + (i + 1) + (i === 0 ? " (leftmost)" : i === boxes.length - 1 ? " (rightmost)" : "");
      btn.addEventListener("click", () => {
        enrolChoose.hidden = true;
        sendEnrolment({ face: String(i) });
      });
      return btn;
    });
    $("enrol-choose-faces").replaceChildren(...buttons);
    enrolChoose.hidden = false;
    if (buttons.length) buttons[0].focus();
  }

  // ---- compare ----------------------------------------------------------------------

  const compareForm = $("compare-form");
  const compareResult = $("compare-result");
  const comparePhotos = [$("compare-photo1"), $("compare-photo2")];
  const comparePreviews = [$("compare-preview1"), $("compare-preview2")];

  comparePhotos.forEach((input, i) =>
    input.addEventListener("change", async () => {
      show(compareResult, "");
      whyReset();
      // The preview keeps its place, drawn or not, so that nothing moves
      // under the pointer on the way to the Compare button.
      const shown = input.files.length > 0 && (await drawPhoto(input.files[0], comparePreviews[i], 320)) > 0;
      comparePreviews[i].classList.toggle("empty", !shown);
    }),
  );

  compareForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const missing = comparePhotos.findIndex((p) => !p.files.length);
    if (missing >= 0) {
      show(compareResult, "Choose the " + (missing === 0 ? "first" : "second") + " photo.", "error");
      return;
    }
    const fd = new FormData();
    fd.append("photo1", comparePhotos[0].files[0]);
    fd.append("photo2", comparePhotos[1].files[0]);
    $("compare-submit").disabled = true;
    show(compareResult, "Comparing…");
    whyReset();
    try {
      const d = await api("POST", "v1/compare", fd);
      whyOffer([comparePhotos[0].files[0], comparePhotos[1].files[0]]);
      const t = thresholdOf(d);
      const close = isClose(d.distance, t);
      const how = "distance " + fmt(d.distance) + (t === null ? "" : ", threshold " + fmt(t)) +
        (typeof d.probability === "number" ? ", probability " + pct(d.probability) : "");
      const verdict = d.same ? "Same person" : "Not the same person";
      show(compareResult, verdict + " (" + how + ")" + (close ? " — close call, take a look." : "."), close ? "warn" : d.same ? "ok" : "error");
    } catch (e) {
      show(compareResult, "Not compared: " + e.message, "error");
    } finally {
      $("compare-submit").disabled = false;
    }
  });

  // ---- compare: why? ----------------------------------------------------------------
  // After a comparison, "Why?" asks the server to explain it
  // (v1/compare?explain=1, sent only on demand: it costs about as much
  // again) and lays the heatmap over the first photo's preview; pressed
  // again, it shows the photo alone. The heatmaps come as PNG data URLs
  // and are decoded here (a Blob, not an <img src="data:">, which the
  // page's Content-Security-Policy refuses).

  const why = {
    bar: $("compare-why-bar"),
    button: $("compare-why"),
    map: $("compare-why-map"),
    text: $("compare-why-text"),
    photos: null, // the compared files
    maps: null, // {saliency, gradcam}: ImageBitmaps of the explanation
    explanation: null,
    generation: 0, // bumped on every reset: a late answer is dropped
  };

  // whyReset hides the explanation (a new photo or comparison).
  function whyReset() {
    why.generation++;
    const wasOn = why.button.getAttribute("aria-pressed") === "true";
    why.bar.hidden = true;
    why.button.setAttribute("aria-pressed", "false");
    why.button.disabled = false;
    show(why.text, "");
    for (const m of Object.values(why.maps || {})) m.close();
    why.photos = why.maps = why.explanation = null;
    if (wasOn && comparePhotos[0].files.length) drawPhoto(comparePhotos[0].files[0], comparePreviews[0], 320);
  }

  // whyOffer shows the Why? button for a comparison of these two files.
  function whyOffer(files) {
    why.photos = files;
    why.bar.hidden = false;
  }

  // heatBitmap decodes a heatmap's PNG data URL.
  async function heatBitmap(url) {
    const b64 = String(url).replace(/^data:image\/png;base64,/, "");
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return createImageBitmap(new Blob([bytes], { type: "image/png" }));
  }

  // whyDraw draws the first photo with the chosen map over it, or alone.
  async function whyDraw(on) {
    const canvas = comparePreviews[0];
    const gen = why.generation;
    if (!(await drawPhoto(why.photos[0], canvas, 320)) || gen !== why.generation) return;
    if (!on || !why.maps) return;
    canvas.getContext("2d").drawImage(why.maps[why.map.value] || why.maps.saliency, 0, 0, canvas.width, canvas.height);
  }

  // whyCaption says what the shown map is.
  function whyCaption() {
    const e = why.explanation;
    const grad = why.map.value === "gradcam";
    const share = grad ? e.gradcam_in_box : e.saliency_in_box;
    show(why.text, (grad
      ? "Hot: the regions of the first photo that made the two faces alike"
      : "Hot: the pixels of the first photo whose change would move the distance most") +
      " (" + pct(share) + " of it on the face; distance " + fmt(e.distance) + ").");
  }

  why.button.addEventListener("click", async () => {
    if (!why.photos) return;
    if (why.button.getAttribute("aria-pressed") === "true") {
      why.button.setAttribute("aria-pressed", "false");
      show(why.text, "");
      await whyDraw(false);
      return;
    }
    const gen = why.generation;
    if (!why.maps) {
      const fd = new FormData();
      fd.append("photo1", why.photos[0]);
      fd.append("photo2", why.photos[1]);
      why.button.disabled = true;
      show(why.text, "Explaining…");
      try {
        const d = await api("POST", "v1/compare?explain=1", fd);
        if (!d || !d.explanation) throw new Error("The server sent no explanation.");
        const [saliency, gradcam] = await Promise.all([heatBitmap(d.explanation.saliency), heatBitmap(d.explanation.gradcam)]);
        if (gen !== why.generation) {
          saliency.close();
          gradcam.close();
          return;
        }
        why.maps = { saliency, gradcam };
        why.explanation = d.explanation;
      } catch (e) {
        if (gen !== why.generation) return;
        const off = e instanceof APIError && e.code === "invalid_field";
        show(why.text, off ? "This server does not explain its decisions (it runs with --explain=false)." : "Not explained: " + e.message, "error");
        return;
      } finally {
        if (gen === why.generation) why.button.disabled = false;
      }
    }
    why.button.setAttribute("aria-pressed", "true");
    whyCaption();
    await whyDraw(true);
  });

  why.map.addEventListener("change", async () => {
    if (why.button.getAttribute("aria-pressed") !== "true") return;
    whyCaption();
    await whyDraw(true);
  });

  // ---- history ----------------------------------------------------------------------

  const historyList = $("history-list");
  const historyStatus = $("history-status");
  let historyTimer = 0;
  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

  // historySoon re-reads the history shortly after a door decision.
  function historySoon() {
    clearTimeout(historyTimer);
    historyTimer = setTimeout(loadHistory, 300);
  }

  function eventText(ev) {
    const parts = (ev.faces || []).map((f) => {
      const t = typeof f.threshold === "number" ? f.threshold : thresholdOf(null);
      const tt = t === null ? "" : " / " + fmt(t);
      if (f.match) {
        const name = f.match.name || (f.match.id ? f.match.id : "a person since deleted");
        return name + " (" + fmt(f.match.distance) + tt + ")" + (f.close_call ? ", close call" : "");
      }
      if (f.nearest && f.close_call) {
        return "unknown, close call: nearest " + (f.nearest.name || "a person since deleted") + " (" + fmt(f.nearest.distance) + tt + ")";
      }
      return "unknown" + (f.nearest ? " (" + fmt(f.nearest.distance) + tt + ")" : "");
    });
    return parts.join("; ");
  }

  async function loadHistory() {
    clearTimeout(historyTimer);
    let data;
    try {
      data = await api("GET", "v1/history?limit=" + HISTORY_SHOWN);
    } catch (e) {
      show(historyStatus, e.code === "forbidden" ? "This API key cannot read the history." : "Cannot read the history: " + e.message,
        e.code === "forbidden" ? "" : "error");
      historyList.replaceChildren();
      historyTimer = setTimeout(loadHistory, HISTORY_MS * 3);
      return;
    }
    const events = data.events || [];
    show(historyStatus, events.length ? "" : data.size === 0 ? "The server keeps no history." : "No door decisions yet.");
    historyList.replaceChildren(
      ...events.map((ev) => {
        const li = document.createElement("li");
        const known = (ev.faces || []).some((f) => f.match);
        const close = (ev.faces || []).some((f) => f.close_call);
        li.className = close ? "close" : known ? "known" : "unknown";
        const time = document.createElement("time");
        time.dateTime = ev.time;
        time.textContent = timeFmt.format(new Date(ev.time));
        const text = document.createElement("span");
        text.textContent = eventText(ev) + (ev.frames > 1 ? " — seen in " + ev.frames + " frames" : "");
        li.append(time, " ", text);
        return li;
      }),
    );
    historyTimer = setTimeout(loadHistory, HISTORY_MS);
    loadEvents();
  }

  // ---- audit log --------------------------------------------------------------------

  const eventsSection = $("events");
  const eventsList = $("events-list");
  const eventsStatus = $("events-status");

  // auditText is one audit record in words: who (the key's id), what, the
  // result or the change, and the numbers.
  function auditText(ev) {
    const who = ev.key ? "key " + ev.key : ev.source === "cli" ? "command line" : "";
    const what = ev.endpoint || "";
    let result;
    if (ev.kind === "change") {
      result = (ev.action || "change").replace("_", " ") + (ev.person ? " " + ev.person : "") + (ev.count ? " (" + ev.count + ")" : "");
    } else {
      result = ev.result || "";
      if (ev.person) result += " " + ev.person;
      else if (ev.claimed) result += " (claimed " + ev.claimed + ")";
      if (ev.reason) result += ": " + ev.reason.replaceAll("_", " ");
      if (typeof ev.distance === "number") {
        result += " (" + fmt(ev.distance) + (typeof ev.threshold === "number" ? " / " + fmt(ev.threshold) : "") + ")";
      }
    }
    return [result, what, who].filter(Boolean).join(" — ");
  }

  // loadEvents shows the latest audit records when the server keeps a
  // log; a key that may not read them gets a sentence, not an error.
  async function loadEvents() {
    if (!info.audit) {
      eventsSection.hidden = true;
      return;
    }
    eventsSection.hidden = false;
    let data;
    try {
      data = await api("GET", "v1/events?limit=" + EVENTS_SHOWN);
    } catch (e) {
      show(eventsStatus, e.code === "forbidden" ? "This API key cannot read the audit log." : "Cannot read the audit log: " + e.message,
        e.code === "forbidden" ? "" : "error");
      eventsList.replaceChildren();
      return;
    }
    const events = data.events || [];
    show(eventsStatus, events.length ? "" : "Nothing recorded yet.");
    eventsList.replaceChildren(
      ...events.map((ev) => {
        const li = document.createElement("li");
        li.className = ev.kind === "change" ? "change" : ev.result === "known" ? "known" : ev.result === "refused" ? "close" : "unknown";
        const time = document.createElement("time");
        time.dateTime = ev.time;
        time.textContent = timeFmt.format(new Date(ev.time));
        const text = document.createElement("span");
        text.textContent = auditText(ev);
        li.append(time, " ", text);
        return li;
      }),
    );
  }

  // ---- people ----------------------------------------------------------------------

  const peopleBody = $("people-body");
  const peopleSummary = $("people-summary");
  const peopleStatus = $("people-status");
  const pager = $("people-pager");
  const prev = $("people-prev");
  const next = $("people-next");
  let offset = 0;
  let loading = 0; // sequence number: only the newest load may render
  let listFailed = false; // peopleStatus shows a listing error to clear

  async function loadPeople() {
    const seq = ++loading;
    let data;
    try {
      data = await api("GET", "v1/people?limit=" + PAGE_SIZE + "&offset=" + offset);
    } catch (e) {
      if (seq === loading) {
        show(peopleStatus, "Cannot list people: " + e.message, "error");
        listFailed = true;
      }
      return;
    }
    if (seq !== loading) return;
    if (listFailed) {
      show(peopleStatus, "");
      listFailed = false;
    }
    const people = data.people || [];
    const total = data.total || 0;
    if (!people.length && offset > 0 && total > 0) {
      // The page emptied (deletions elsewhere): go to the last one.
      offset = Math.floor((total - 1) / PAGE_SIZE) * PAGE_SIZE;
      return loadPeople();
    }
    peopleBody.replaceChildren(...people.map(row));
    $("people-table").classList.toggle("with-thumbs", people.some((p) => p.thumbnail));
    if (total === 0) {
      show(peopleSummary, "Nobody is enrolled yet.");
    } else {
      const first = offset + 1;
      const last = offset + people.length;
      const who = total === 1 ? "1 person" : total + " people";
      show(peopleSummary, who + " enrolled" + (total > people.length ? "; showing " + first + "–" + last + "." : "."));
    }
    pager.hidden = total <= PAGE_SIZE && offset === 0;
    prev.disabled = offset === 0;
    next.disabled = offset + PAGE_SIZE >= total;
  }

  function row(p) {
    const tr = document.createElement("tr");
    const cell = (text, cls) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
      return td;
    };
    const thumb = cell("", "thumb");
    if (p.thumbnail) {
      const c = document.createElement("canvas");
      c.setAttribute("aria-label", "Face of " + p.name);
      drawThumbnail(c, p.thumbnail);
      thumb.append(c);
    }
    const open = document.createElement("button");
    open.type = "button";
    open.className = "link";
    open.textContent = p.name;
    open.setAttribute("aria-label", "Open " + p.name);
    open.addEventListener("click", () => showPerson(p));
    cell("").append(open);
    cell(String(p.faces), "num");
    cell(p.id, "id");
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "delete";
    btn.textContent = "Delete";
    btn.setAttribute("aria-label", "Delete " + p.name);
    btn.addEventListener("click", () => remove(p, btn));
    cell("").append(btn);
    return tr;
  }

  async function remove(p, btn) {
    if (!confirm("Delete " + p.name + "? Their face data is removed and they will no longer be recognised.")) return false;
    btn.disabled = true;
    try {
      await api("DELETE", "v1/people/" + encodeURIComponent(p.id));
      show(peopleStatus, "Deleted " + p.name + ".", "ok");
      listFailed = false;
    } catch (e) {
      btn.disabled = false;
      show(peopleStatus, "Not deleted: " + e.message, "error");
      return false;
    }
    if (personShown && personShown.id === p.id) closePerson();
    loadPeople();
    loadHistory();
    return true;
  }

  prev.addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE_SIZE);
    loadPeople();
  });
  next.addEventListener("click", () => {
    offset += PAGE_SIZE;
    loadPeople();
  });

  // drawThumbnail draws a person's thumbnail (base64 JPEG) on canvas.
  async function drawThumbnail(canvas, b64) {
    try {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bmp = await createImageBitmap(new Blob([bytes], { type: "image/jpeg" }));
      canvas.width = bmp.width;
      canvas.height = bmp.height;
      canvas.getContext("2d").drawImage(bmp, 0, 0);
      bmp.close();
      return true;
    } catch {
      return false; // a damaged thumbnail: the row shows without it
    }
  }

  // ---- one person -------------------------------------------------------------------

  const personView = $("person");
  const personResult = $("person-result");
  const renameName = $("rename-name");
  const addfacePhoto = $("addface-photo");
  let personShown = null;

  function showPerson(p) {
    const fresh = !personShown || personShown.id !== p.id;
    personShown = p;
    $("person-title").textContent = p.name;
    const created = p.created ? ", enrolled " + new Date(p.created).toLocaleString() : "";
    $("person-facts").textContent = faces(p.faces) + created + ". ID " + p.id + ".";
    if (fresh) {
      renameName.value = p.name;
      show(personResult, "");
    }
    const thumb = $("person-thumb");
    thumb.hidden = true;
    if (p.thumbnail) drawThumbnail(thumb, p.thumbnail).then((ok) => (thumb.hidden = !ok || personShown !== p));
    personView.hidden = false;
    if (fresh) personView.scrollIntoView({ block: "nearest" });
  }

  function closePerson() {
    personShown = null;
    personView.hidden = true;
  }

  $("person-close").addEventListener("click", closePerson);

  $("rename-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const p = personShown;
    const name = renameName.value.trim();
    if (!p || !name) {
      show(personResult, "Enter the new name.", "error");
      return;
    }
    $("rename-submit").disabled = true;
    try {
      const q = await api("PATCH", "v1/people/" + encodeURIComponent(p.id), JSON.stringify({ name }), "application/json");
      showPerson(q);
      show(personResult, "Renamed " + p.name + " to " + q.name + ".", "ok");
      loadPeople();
      loadHistory();
    } catch (e) {
      show(personResult, "Not renamed: " + e.message, "error");
    } finally {
      $("rename-submit").disabled = false;
    }
  });

  addfacePhoto.addEventListener("change", async () => {
    const p = personShown;
    if (!p || !addfacePhoto.files.length) return;
    const file = addfacePhoto.files[0];
    addfacePhoto.value = "";
    const fd = new FormData();
    fd.append("photo", file);
    show(personResult, "Adding " + file.name + " to " + p.name + "…");
    try {
      const q = await api("POST", "v1/people/" + encodeURIComponent(p.id) + "/faces", fd);
      showPerson(q);
      show(personResult, "Added a face to " + q.name + " (" + faces(q.faces) + ").", "ok");
      loadPeople();
    } catch (e) {
      if (e.code === "multiple_faces" && Array.isArray(e.detail.faces) && e.detail.faces.length > 1) {
        // The enrolment panel asks which face, then adds it to this person.
        pending = { name: p.name, photo: file, filename: file.name, target: "add", person: p };
        show(personResult, "The photo shows several faces: choose one under “Enrol a person”.");
        await askFace(e.detail.faces);
        enrolChoose.scrollIntoView({ block: "nearest" });
        return;
      }
      show(personResult, "Not added: " + e.message, "error");
    }
  });

  $("person-delete").addEventListener("click", async (ev) => {
    if (personShown) await remove(personShown, ev.currentTarget);
  });

  // ---- start ------------------------------------------------------------------------

  async function start() {
    try {
      Object.assign(info, await api("GET", "v1/info"));
    } catch {
      // An older server, or none: keep the defaults (the key box shown).
    }
    if (info.auth || apiKey()) showKeyForm();
    loadPeople();
    loadHistory();
  }
  start();
})();
