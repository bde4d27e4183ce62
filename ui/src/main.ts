// Mounts the agent window.
import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";

const target = document.getElementById("app");
if (!target) {
  throw new Error("index.html must contain <div id=\"app\">");
}
export default mount(App, { target });
