// facerec door-access page: enrol, door check, people list.
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
  const JPEG_QUALITY = 0.9;

  // ---- API ----------------------------------------------------------------

  function apiKey() {
    try {
      return localStorage.getItem(KEY_STORAGE) || "";
    } catch {
      return ""; // storage disabled: behave as if no key was set
    }
  }

  class APIError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // Friendlier words for the errors a person at the page can act on.
  const friendly = {
    no_face: "No face was found in the photo. Use a clear photo of the face, looking at the camera.",
    multiple_faces: "The photo shows more than one face. Use a photo of this person alone.",
  };

  // api sends one request to the JSON API and returns the parsed body (null
  // for 204), or throws an APIError carrying the server's error message.
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const key = apiKey();
    if (key) headers.Authorization = "Bearer " + key;
    let resp;
    try {
      resp = await fetch(path, { method, headers, body, cache: "no-store" });
    } catch (e) {
      throw new APIError(0, "network", "Cannot reach the server (" + e.message + ").");
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
      let msg = friendly[err.code] || err.message || "The server answered " + resp.status + " " + resp.statusText + ".";
      if (resp.status === 401) msg += " Set the API key at the top of the page.";
      throw new APIError(resp.status, err.code || "", msg);
    }
    if (data === null) throw new APIError(resp.status, "bad_response", "The server sent an unreadable answer.");
    return data;
  }

  // show sets a status element's text and kind (ok, error or none). An
  // unchanged message is left alone, so that live regions updated on every
  // door-check tick are not read out again and again.
  function show(el, text, kind) {
    const cls = kind || "";
    if (el.textContent === text && (el.dataset.kind || "") === cls) return;
    el.dataset.kind = cls;
    el.textContent = text;
    el.className = el.className.replace(/\b(ok|error)\b/g, "").trim();
    if (kind) el.classList.add(kind);
  }

  // ---- camera ---------------------------------------------------------------

  function cameraMessage(e) {
    switch (e && e.name) {
      case "NotAllowedError":
      case "SecurityError":
        return "Camera unavailable: permission was denied. Allow the camera for this page and try again.";
      case "NotFoundError":
      case "OverconstrainedError":
        return "Camera unavailable: no camera was found.";
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

  // ---- API key ----------------------------------------------------------------

  const keyInput = $("api-key");
  const keyStatus = $("key-status");
  keyInput.value = apiKey();
  $("key-form").addEventListener("submit", (ev) => {
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
  });

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
  let enrolStream = null;
  let snapshot = null; // JPEG Blob of the last snapshot, used instead of a file

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
    if (enrolPhoto.files.length) clearSnapshot(); // the newest choice wins
  });

  enrolForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = enrolName.value.trim();
    if (!name) {
      show(enrolResult, "Enter the person's name.", "error");
      enrolName.focus();
      return;
    }
    const fd = new FormData();
    fd.append("name", name);
    if (snapshot) {
      fd.append("photo", snapshot, "snapshot.jpg");
    } else if (enrolPhoto.files.length) {
      fd.append("photo", enrolPhoto.files[0]);
    } else {
      show(enrolResult, "Choose a photo file or take a snapshot with the camera.", "error");
      return;
    }
    enrolSubmit.disabled = true;
    show(enrolResult, "Enrolling " + name + "…");
    try {
      const p = await api("POST", "v1/people", fd);
      show(enrolResult, "Enrolled " + p.name + " (id " + p.id + ").", "ok");
      enrolName.value = "";
      enrolPhoto.value = "";
      clearSnapshot();
      loadPeople();
    } catch (e) {
      show(enrolResult, "Not enrolled: " + e.message, "error");
    } finally {
      enrolSubmit.disabled = false;
    }
  });

  // ---- door check ------------------------------------------------------------------

  const doorToggle = $("door-toggle");
  const doorStatus = $("door-status");
  const doorMedia = $("door-media");
  const doorVideo = $("door-video");
  const overlay = $("door-overlay");
  const doorResults = $("door-results");
  const frame = document.createElement("canvas"); // off-screen: the frame sent
  let door = null; // {stream, timer, busy} while running
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
    show(doorStatus, "Starting the camera…");
    doorMedia.hidden = false;
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
      draw(res.faces || [], w, h);
      show(doorStatus, "Watching the door.");
    } catch (e) {
      if (door === run) show(doorStatus, e.message, "error");
    } finally {
      run.busy = false;
    }
  }

  const fmt = (d) => (typeof d === "number" && isFinite(d) ? d.toFixed(2) : "?");

  // describe turns one identified face into its label and list line.
  function describe(f) {
    if (f.match) {
      const name = String(f.match.name || f.match.id || "?");
      const d = fmt(f.match.distance);
      return { kind: "known", label: name + " " + d, text: name + ", distance " + d };
    }
    const c = Array.isArray(f.candidates) ? f.candidates[0] : null;
    if (c) {
      const d = fmt(c.distance);
      return { kind: "unknown", label: "unknown " + d, text: "unknown, nearest distance " + d };
    }
    return { kind: "unknown", label: "unknown", text: "unknown" };
  }

  // draw paints each face's box and label on the overlay, whose pixel size
  // is the sent frame's so the server's boxes need no scaling; CSS stretches
  // it over the video, which has the same aspect ratio.
  function draw(faces, w, h) {
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
      const [x, y, bw, bh] = f.box;
      const colour = d.kind === "known" ? "#1a7f37" : "#c4320a";
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
    cell(p.name);
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
    if (!confirm("Delete " + p.name + "? Their face data is removed and they will no longer be recognised.")) return;
    btn.disabled = true;
    try {
      await api("DELETE", "v1/people/" + encodeURIComponent(p.id));
      show(peopleStatus, "Deleted " + p.name + ".", "ok");
      listFailed = false;
    } catch (e) {
      btn.disabled = false;
      show(peopleStatus, "Not deleted: " + e.message, "error");
      return;
    }
    loadPeople();
  }

  prev.addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE_SIZE);
    loadPeople();
  });
  next.addEventListener("click", () => {
    offset += PAGE_SIZE;
    loadPeople();
  });

  loadPeople();
})();
